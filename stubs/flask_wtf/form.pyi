from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wtforms import Form

class FlaskForm(Form):
    # formdata defaults to the request's form and files on POST, PUT, PATCH and DELETE.
    def __init__(self, formdata: Any = ..., **kwargs: Any) -> None: ...
    def is_submitted(self) -> bool: ...
    def validate_on_submit(
        self, extra_validators: Mapping[str, Sequence[Callable[..., object]]] | None = None
    ) -> bool: ...
