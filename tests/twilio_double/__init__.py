"""A loopback test double of Twilio's REST API (Verify v2, Messages), checked against Twilio's OpenAPI."""

from tests.twilio_double.errors import ERRORS, error_payload
from tests.twilio_double.server import Recorded, ScriptedFailure, Sms, TwilioDouble
from tests.twilio_double.spec import Spec, load_spec

__all__ = ["ERRORS", "Recorded", "ScriptedFailure", "Sms", "Spec", "TwilioDouble", "error_payload", "load_spec"]
