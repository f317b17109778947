"""Which phone numbers the SMS factor accepts: mobiles only, parsed by phonenumbers (lite),
imported only by the paths that read a number. Pure."""
from __future__ import annotations

from chalicelib.errors import PhoneNotAllowed

_REFUSED = {
    "FIXED_LINE": "This looks like a landline, which cannot receive text messages. Use a mobile number.",
    "VOIP": "VoIP numbers (such as Google Voice) are not allowed: they can be taken over online. Use a mobile number.",
    "PREMIUM_RATE": "Premium-rate numbers are not allowed. Use a mobile number.",
    "TOLL_FREE": "Toll-free numbers are not allowed. Use a mobile number.",
    "SHARED_COST": "Shared-cost numbers are not allowed. Use a mobile number.",
    "PAGER": "Pager numbers are not allowed. Use a mobile number.",
    "PERSONAL_NUMBER": "Personal (forwarding) numbers are not allowed. Use a mobile number.",
    "UAN": "Universal access numbers are not allowed. Use a mobile number.",
    "VOICEMAIL": "Voicemail numbers are not allowed. Use a mobile number.",
}


def parse(raw: str, country: str | None) -> tuple[str, str]:
    """(E.164, ISO 3166 region) for a mobile number, or PhoneNotAllowed naming why not."""
    import phonenumbers

    region = (country or "").upper() or None
    if region is not None and (len(region) != 2 or not region.isalpha()):
        raise PhoneNotAllowed("country must be an ISO 3166 code such as \"GB\".", code="invalid_request")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PhoneNotAllowed("This is not a valid phone number. Use the international format, e.g. +44 7400 123456.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneNotAllowed("This is not a valid phone number. Check the digits and the country.")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        name = next((n for n, v in vars(phonenumbers.PhoneNumberType).items() if v == kind), "UNKNOWN")
        raise PhoneNotAllowed(_REFUSED.get(name, "This kind of number cannot receive our text messages. Use a mobile number."))
    region = phonenumbers.region_code_for_number(number) or "ZZ"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), region


def region_of(e164: str) -> str:
    import phonenumbers

    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or "ZZ"


def check_country(region: str, allowed: frozenset[str]) -> None:
    """The optional allow-list of destination countries (TWOSTEP_SMS_COUNTRIES; empty: all),
    a defence against SMS pumping to expensive destinations."""
    if allowed and region not in allowed:
        raise PhoneNotAllowed("We do not send text messages to this country. Use your authenticator app "
                              "and recovery codes instead.")


def hint(e164: str) -> str:
    return "+•• ••• ••• ••" + e164[-2:]
