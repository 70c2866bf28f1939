"""The program configuration: every number of the referral rules, as data.

Spec: referrals.md ("Every number below is a default of a program configuration that vendor
staff can edit, versioned, with the date it takes effect"). ``DEFAULT`` holds the spec's
numbers; staff versions live in the database (``referrals.models.ConfigVersion``) and reach the
engine as ``ProgramConfig`` values through ``config_from_dict``.

Which version applies: an event uses the version in force at its own ``at``; a review uses the
version in force at the review time; a grant keeps the lifetime of the version that made it.
A new version never rewrites what happened before its effective date.

Pure module: no Django imports (the engine runs in the replay CLI without Django).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DEFAULT",
    "ClientBonusOption",
    "ConfigError",
    "ConfigSet",
    "Level",
    "ProgramConfig",
    "config_from_dict",
    "config_to_dict",
]

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class ConfigError(ValueError):
    """A configuration document that cannot be used; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Level:
    """A partner level: the active points it needs and its reward rates in percent."""

    number: int
    min_points: int
    first_rate: Decimal
    later_rate: Decimal


@dataclass(frozen=True, slots=True)
class ClientBonusOption:
    """A bonus for the client that a partner may attach to a promo code."""

    code: str
    label: str


@dataclass(frozen=True)
class ProgramConfig:
    """One version of the program's rules (defaults are the spec's numbers)."""

    version: int = 1
    effective_from: dt.datetime = EPOCH
    timezone: str = "Europe/Moscow"
    #: points by product and paid months (баллы)
    points: dict[str, dict[int, int]] = field(
        default_factory=lambda: {
            "tariff.team": {3: 15, 6: 30, 12: 60},
            "tariff.company": {3: 30, 6: 60, 12: 120},
            "users.12": {3: 3, 6: 6, 12: 12},
            "disk.100gb": {3: 3, 6: 6, 12: 12},
            "disk.250gb": {3: 7, 6: 13, 12: 24},
            "disk.1tb": {3: 15, 6: 27, 12: 48},
        }
    )
    #: product line of each product: points come only from a line's first payment
    product_lines: dict[str, str] = field(
        default_factory=lambda: {
            "tariff.team": "tariff",
            "tariff.company": "tariff",
            "users.12": "users",
            "disk.100gb": "disk",
            "disk.250gb": "disk",
            "disk.1tb": "disk",
        }
    )
    #: lines whose payments earn a reward (disk earns points only)
    reward_lines: frozenset[str] = frozenset({"tariff", "users"})
    levels: tuple[Level, ...] = (
        Level(0, 0, Decimal("0"), Decimal("0")),
        Level(1, 15, Decimal("20"), Decimal("20")),
        Level(2, 60, Decimal("35"), Decimal("20")),
        Level(3, 120, Decimal("50"), Decimal("20")),
    )
    activation_points: int = 1
    activation_bonus: Decimal = Decimal("100.00")
    #: a client is active with strictly more intranet users than this
    activation_users_over: int = 3
    activation_window_months: int = 1
    points_lifetime_months: int = 3
    review_period_months: int = 3
    reward_window_months: int = 36
    # Portal settings (not used by the engine, versioned with it):
    landing_url: str = "https://www.bitrix24.ru/"
    referral_param: str = "p"
    attribution_window_days: int = 30
    promo_max_validity_days: int = 365
    client_bonus_options: tuple[ClientBonusOption, ...] = (
        ClientBonusOption("month", "+1 месяц к тарифу"),
        ClientBonusOption("discount10", "10% на первую покупку"),
    )
    conversion_minimum: Decimal = Decimal("5000.00")

    def level_for(self, points: int) -> int:
        """The highest level whose threshold ``points`` reach."""
        reached = 0
        for level in self.levels:
            if points >= level.min_points:
                reached = level.number
        return reached

    def level(self, number: int) -> Level:
        """The level ``number`` (the highest one when the table has fewer levels now)."""
        for level in self.levels:
            if level.number == number:
                return level
        return self.levels[-1]


@dataclass(frozen=True)
class ConfigSet:
    """All versions of a program's configuration, ordered by their effective time."""

    versions: tuple[ProgramConfig, ...] = (ProgramConfig(),)
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.versions:
            raise ConfigError("versions", "at least one version is needed")
        ordered = tuple(sorted(self.versions, key=lambda c: (c.effective_from, c.version)))
        object.__setattr__(self, "versions", ordered)
        object.__setattr__(self, "_starts", tuple(c.effective_from.timestamp() for c in ordered))

    def at(self, moment: dt.datetime) -> ProgramConfig:
        """The version in force at ``moment`` (the first version before any effective date)."""
        index = bisect.bisect_right(self._starts, moment.timestamp()) - 1
        return self.versions[max(index, 0)]

    def at_ts(self, timestamp: float) -> ProgramConfig:
        """``at`` for a POSIX timestamp."""
        if len(self.versions) == 1:
            return self.versions[0]
        index = bisect.bisect_right(self._starts, timestamp) - 1
        return self.versions[max(index, 0)]


DEFAULT = ProgramConfig()


def config_to_dict(config: ProgramConfig) -> dict[str, Any]:
    """A JSON-ready document of ``config`` (money and rates as strings)."""
    return {
        "version": config.version,
        "effective_from": config.effective_from.isoformat(),
        "timezone": config.timezone,
        "points": {p: {str(m): n for m, n in row.items()} for p, row in config.points.items()},
        "product_lines": dict(config.product_lines),
        "reward_lines": sorted(config.reward_lines),
        "levels": [
            {
                "number": lv.number,
                "min_points": lv.min_points,
                "first_rate": str(lv.first_rate),
                "later_rate": str(lv.later_rate),
            }
            for lv in config.levels
        ],
        "activation_points": config.activation_points,
        "activation_bonus": str(config.activation_bonus),
        "activation_users_over": config.activation_users_over,
        "activation_window_months": config.activation_window_months,
        "points_lifetime_months": config.points_lifetime_months,
        "review_period_months": config.review_period_months,
        "reward_window_months": config.reward_window_months,
        "landing_url": config.landing_url,
        "referral_param": config.referral_param,
        "attribution_window_days": config.attribution_window_days,
        "promo_max_validity_days": config.promo_max_validity_days,
        "client_bonus_options": [
            {"code": o.code, "label": o.label} for o in config.client_bonus_options
        ],
        "conversion_minimum": str(config.conversion_minimum),
    }


def _int(doc: dict[str, Any], name: str, default: int, *, minimum: int = 0) -> int:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(name, f"must be an integer of at least {minimum}")
    return value


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, float | bool):
        raise ConfigError(name, "must be a decimal string")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(name, "must be a decimal string") from exc
    if not number.is_finite() or number < 0:
        raise ConfigError(name, "must be a non-negative decimal")
    return number


def config_from_dict(doc: dict[str, Any]) -> ProgramConfig:
    """Build and check a configuration from its JSON document (missing keys take defaults).

    Raises ``ConfigError`` naming the first bad field.
    """
    base = DEFAULT
    effective = doc.get("effective_from")
    if effective is None:
        effective_from = base.effective_from
    else:
        try:
            effective_from = dt.datetime.fromisoformat(str(effective))
        except ValueError as exc:
            raise ConfigError("effective_from", "must be an ISO 8601 timestamp") from exc
        if effective_from.tzinfo is None:
            raise ConfigError("effective_from", "needs a UTC offset")
    points_doc = doc.get("points", config_to_dict(base)["points"])
    points: dict[str, dict[int, int]] = {}
    for product, row in points_doc.items():
        points[product] = {}
        for months, value in row.items():
            name = f"points.{product}.{months}"
            if not re.fullmatch(r"[0-9]{1,4}", str(months)) or int(months) <= 0:
                raise ConfigError(name, "months must be a positive integer")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, "points must be a non-negative integer")
            points[product][int(months)] = value
    # a stable order (a database may hand JSON objects back with their keys reordered):
    # the spec's products first, then the others by name; months ascending
    known = [p for p in base.points if p in points]
    order = known + sorted(p for p in points if p not in base.points)
    points = {p: dict(sorted(points[p].items())) for p in order}
    lines = dict(doc.get("product_lines", base.product_lines))
    for product in points:
        if product not in lines:
            raise ConfigError(f"product_lines.{product}", "every product needs a line")
    levels_doc = doc.get("levels")
    if levels_doc is None:
        levels = base.levels
    else:
        levels = tuple(
            Level(
                number=_int(lv, "number", 0),
                min_points=_int(lv, "min_points", 0),
                first_rate=_decimal(lv.get("first_rate", "0"), f"levels.{i}.first_rate"),
                later_rate=_decimal(lv.get("later_rate", "0"), f"levels.{i}.later_rate"),
            )
            for i, lv in enumerate(levels_doc)
        )
        numbers = [lv.number for lv in levels]
        thresholds = [lv.min_points for lv in levels]
        if not levels or numbers != list(range(len(levels))):
            raise ConfigError("levels", "levels must be numbered 0, 1, 2... in order")
        if thresholds[0] != 0 or thresholds != sorted(set(thresholds)):
            raise ConfigError("levels", "thresholds must start at 0 and grow")
        for lv in levels:
            if lv.first_rate > 100 or lv.later_rate > 100:
                raise ConfigError("levels", "a rate is a percent from 0 to 100")
    options_doc = doc.get("client_bonus_options")
    options = (
        base.client_bonus_options
        if options_doc is None
        else tuple(ClientBonusOption(str(o["code"]), str(o["label"])) for o in options_doc)
    )
    return ProgramConfig(
        version=_int(doc, "version", base.version, minimum=1),
        effective_from=effective_from,
        timezone=str(doc.get("timezone", base.timezone)),
        points=points,
        product_lines=lines,
        reward_lines=frozenset(doc.get("reward_lines", base.reward_lines)),
        levels=levels,
        activation_points=_int(doc, "activation_points", base.activation_points),
        activation_bonus=_decimal(
            doc.get("activation_bonus", base.activation_bonus), "activation_bonus"
        ),
        activation_users_over=_int(doc, "activation_users_over", base.activation_users_over),
        activation_window_months=_int(
            doc, "activation_window_months", base.activation_window_months, minimum=1
        ),
        points_lifetime_months=_int(
            doc, "points_lifetime_months", base.points_lifetime_months, minimum=1
        ),
        review_period_months=_int(
            doc, "review_period_months", base.review_period_months, minimum=1
        ),
        reward_window_months=_int(doc, "reward_window_months", base.reward_window_months),
        landing_url=str(doc.get("landing_url", base.landing_url)),
        referral_param=str(doc.get("referral_param", base.referral_param)),
        attribution_window_days=_int(
            doc, "attribution_window_days", base.attribution_window_days, minimum=1
        ),
        promo_max_validity_days=_int(
            doc, "promo_max_validity_days", base.promo_max_validity_days, minimum=1
        ),
        client_bonus_options=options,
        conversion_minimum=_decimal(
            doc.get("conversion_minimum", base.conversion_minimum), "conversion_minimum"
        ),
    )
