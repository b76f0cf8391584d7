"""Database models (SQLAlchemy 2.0 typed mappings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model

UTCDateTime = DateTime(timezone=True)
# Bytewise order on PostgreSQL: the unique index then serves `email LIKE 'prefix%'` and ORDER BY email in any
# database locale (a locale-aware index cannot serve LIKE). SQLite compares bytes already.
EmailString = String(320).with_variant(String(320, collation="C"), "postgresql")
# Indexes that exist only in the migrations, on PostgreSQL (a pg_trgm index, a JSON expression index):
# autogenerate and `flask db check` leave them alone (migrations/env.py).
DATABASE_ONLY_INDEXES = frozenset({"ix_users_email_trgm", "ix_audit_events_case_reference"})


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Canonical form: validated by email-validator, then lower-cased, so lookups are exact.
    email: Mapped[str] = mapped_column(EmailString, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Second-factor attempts across every method and pending sign-in (SECURITY.md "Limits").
    factor_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    factor_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # after every factor
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class UserSession(Model):
    """One signed-in browser. The cookie carries a random token; only its SHA-256 is stored here.

    stage is "pending" after the password step of a user with a second factor, "active" after sign-in.
    Deleting the row signs the browser out, whatever its cookie says.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    password_confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When this browser last proved a second factor (sign-in, or an admin's confirmation before an action).
    factor_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(Text)
    # An admin form posted after the step-up lapsed, kept for the page to show again after the confirmation
    # (portal.auth.held): never in a URL or a cookie. Gone with the row when the session ends.
    held_form: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    user: Mapped[User] = relationship(back_populates="sessions")


class EndedSession(Model):
    """A session an admin ended: its token's hash and why, so that browser is told why on the sign-in page.

    Written when support turns a user's 2FA off (the session rows are deleted as ever); read and deleted when
    the browser comes back with the old cookie; pruned once the session would have expired anyway.
    """

    __tablename__ = "ended_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginThrottle(Model):
    """Password failures per email address, known or not, so a delay reveals nothing about accounts."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # keyed hash of the email
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TotpFactor(Model):
    """An authenticator app. confirmed_at is NULL while the enrollment is pending.

    A user has at most one confirmed and at most one pending factor (partial unique indexes); a
    pending replacement never touches the confirmed one until it is confirmed itself.
    """

    __tablename__ = "totp_factors"
    __table_args__ = (
        Index("uq_totp_factors_confirmed", "user_id", unique=True,
              sqlite_where=text("confirmed_at IS NOT NULL"), postgresql_where=text("confirmed_at IS NOT NULL")),
        Index("uq_totp_factors_pending", "user_id", unique=True,
              sqlite_where=text("confirmed_at IS NULL"), postgresql_where=text("confirmed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    secret_encrypted: Mapped[str] = mapped_column(Text)  # Fernet token; never the base32 secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # last accepted 30 s step
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A future step whose code was refused as clock skew ("about 90 seconds ahead"): refused when it comes.
    burned_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The issuer in the QR code, which the app shows for good (SITE_NAME in the setup page's language, or
    # TOTP_ISSUER). NULL for apps set up before it was kept: they were given TOTP_ISSUER or "2FA Portal".
    issuer: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEvent(Model):
    """An append-only record of a security-relevant change. The application never updates or deletes one."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True,
                                                   index=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class RecoveryCode(Model):
    """One recovery code: only an Argon2id hash of it, plus a short non-secret selector.

    The selector (4 hex characters of a keyed hash of the code, unique within a set) picks the one row
    to verify, so redeeming costs one Argon2 verification however many codes are left.
    """

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_selector", "user_id", "selector"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    selector: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsFactor(Model):
    """A phone that receives sign-in codes. confirmed_at is NULL while the number awaits its first code.

    Like TotpFactor: at most one confirmed and one pending row per user, so a new number never replaces
    the old one until it is confirmed. The resend cooldown is not kept here but in SmsThrottle, so
    cancelling or removing a number does not reset it.
    """

    __tablename__ = "sms_factors"
    __table_args__ = (
        Index("uq_sms_factors_confirmed", "user_id", unique=True,
              sqlite_where=text("confirmed_at IS NOT NULL"), postgresql_where=text("confirmed_at IS NOT NULL")),
        Index("uq_sms_factors_pending", "user_id", unique=True,
              sqlite_where=text("confirmed_at IS NULL"), postgresql_where=text("confirmed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))  # E.164; shown masked, never logged in full
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsThrottle(Model):
    """A row per account and purpose ("user:<id>:sign_in") and per number (keyed hash of E.164).

    An account's row holds the resend cooldown of that purpose, claimed by a conditional UPDATE. Both rows are updated
    (and so locked) before the caps are counted, so parallel sends to one number or from one account are
    counted one after another, in every process.
    """

    __tablename__ = "sms_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsCode(Model):
    """A code we generated (twilio_messaging, console): only its keyed hash, for one user, purpose and phone.

    One live code per user and purpose: a resend replaces it. It dies after SMS_CODE_TTL, after
    SMS_MAX_CHECKS tries (counted before comparing), or when used.
    """

    __tablename__ = "sms_codes"
    __table_args__ = (Index("uq_sms_codes_user_purpose", "user_id", "purpose", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsSend(Model):
    """One text sent (or being sent), for the caps per account and per number. No code, no full number."""

    __tablename__ = "sms_sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    phone_key: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash of the E.164 number
    purpose: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AdminRequest(Model):
    """An admin's request to disable a user's 2FA, waiting for a different admin's approval.

    Used when ADMIN_DISABLE_REQUIRES_SECOND_ADMIN is on. At most one pending request per user (partial
    unique index); a decision is a conditional UPDATE of status from "pending", so of two admins deciding
    at once one wins. The identity check is kept here so the approver reads what the requester recorded.
    """

    __tablename__ = "admin_requests"
    __table_args__ = (
        Index("uq_admin_requests_pending", "target_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    requested_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    identity_check: Mapped[str] = mapped_column(String(32))
    case_reference: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text)
    # pending → approved | rejected | withdrawn | expired | obsolete (2FA was already off when approved)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    target: Mapped[User] = relationship(foreign_keys=[target_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
