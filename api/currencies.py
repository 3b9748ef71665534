"""ISO 4217 currency codes and their minor units (the number of decimals of an amount).

An amount of a currency with exponent ``e`` is kept as an integer count of minor units
(``amount × 10^e``: cents for EUR, yen for JPY, fils for KWD). The table holds the codes of the
ISO 4217 list of circulating currencies and funds (2025), not the precious metals, test and
"no currency" codes (XAU, XTS, XXX ...), which have no minor unit.
"""

from __future__ import annotations

from decimal import Decimal

_BY_EXPONENT = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
       "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
       "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL "
       "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK "
       "PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
       "TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
EXPONENT: dict[str, int] = {code: e for e, codes in _BY_EXPONENT.items() for code in codes.split()}
"""Minor-unit exponent of each ISO 4217 code."""


def is_currency(code: str) -> bool:
    return code in EXPONENT


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` in minor units; ValueError when it has more decimals than the currency."""
    scaled = amount.scaleb(EXPONENT[currency])
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {EXPONENT[currency]} decimals")
    return int(scaled)


def format_minor(minor: int, currency: str) -> str:
    """Minor units as a decimal string with the currency's decimals (``123450, EUR`` → ``"1234.50"``)."""
    e = EXPONENT[currency]
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**e)
    return f"{sign}{whole}.{frac:0{e}d}" if e else f"{sign}{whole}"
