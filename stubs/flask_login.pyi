# Flask-Login 0.6.3 ships no types: what portal/ uses (see README.md here).
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask
from werkzeug.wrappers import Response

_F = TypeVar("_F", bound=Callable[..., Any])
_Loader = TypeVar("_Loader", bound=Callable[[str], object])

class UserMixin:
    @property
    def is_active(self) -> bool: ...
    @property
    def is_authenticated(self) -> bool: ...
    @property
    def is_anonymous(self) -> bool: ...
    def get_id(self) -> str: ...

class LoginManager:
    login_view: str | None
    login_message: str | None
    session_protection: str | None
    def __init__(self, app: Flask | None = None, add_context_processor: bool = True) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...
    def unauthorized(self) -> Response: ...  # a redirect to login_view, or abort(401) without one
    def user_loader(self, callback: _Loader) -> _Loader: ...

# A LocalProxy to the user loader's answer, or to an AnonymousUserMixin when there is none: Any, as the
# loader's type is the application's.
current_user: Any

def login_user(user: object, remember: bool = False, duration: timedelta | None = None, force: bool = False,
               fresh: bool = True) -> bool: ...
def logout_user() -> bool: ...
def login_required(func: _F) -> _F: ...
