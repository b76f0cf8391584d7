# moved to portal.notices; callers switch in the factors refactor
from portal.notices import flash_since_previous_sign_in as since_previous_sign_in  # noqa: F401
