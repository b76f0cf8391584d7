"""Extension objects, created bare and bound to the app in create_app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import CursorResult, MetaData, Result
from sqlalchemy.orm import DeclarativeBase

from portal.security import client_ip

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # The models' base class. mypy takes no attribute (db.Model) as a base class (python/mypy#8603); Flask-SQLAlchemy
    # builds db.Model from Base with mixins the models' types do not need (table name, bind key, repr, query).
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=client_ip)


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows the UPDATE or DELETE that gave result (from db.session.execute) matched.

    The session runs such a statement on a cursor and returns a CursorResult, but Session.execute is typed as
    returning any Result, which has no rowcount.
    """
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount
