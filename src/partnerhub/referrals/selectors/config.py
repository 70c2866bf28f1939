"""Reading the program configuration: the engine's ``ConfigSet`` of a program, the version in
force at a moment, the history of versions and the vendor's referral programs.

Spec: referrals.md (configuration versions with an effective date). The ``ConfigSet`` is cached
per process, keyed by the program and a fingerprint of its versions (the highest row id, the
count and the latest creation time), so that every call costs one small aggregate query and a
new version is seen at once by every process (no cross-process invalidation needed). The service
also drops the program's entry when it writes (row ids may be reused after a rollback).
A program without versions gets the spec's numbers (``DEFAULT``).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.db.models import Count, Max, QuerySet
from django.http import Http404

from partnerhub.core import clock
from partnerhub.partners.models import Organisation, Program, ProgramKind
from partnerhub.referrals.engine.config import DEFAULT, ConfigSet, ProgramConfig
from partnerhub.referrals.models import ConfigVersion

__all__ = [
    "config_cache_forget",
    "config_scheduled",
    "config_set",
    "config_version_get",
    "config_versions",
    "current_config",
    "referral_program_of",
    "referral_programs_of",
]

_DEFAULT_SET = ConfigSet((DEFAULT,))
_CACHE: dict[int, tuple[tuple[Any, ...], ConfigSet]] = {}
_LOCK = threading.Lock()


def config_set(program: Program) -> ConfigSet:
    """Every version of ``program``'s configuration, as the engine takes them."""
    fingerprint = ConfigVersion.objects.filter(program_id=program.pk).aggregate(
        last=Max("id"), count=Count("id"), created=Max("created_at")
    )
    key = (fingerprint["last"], fingerprint["count"], fingerprint["created"])
    cached = _CACHE.get(program.pk)
    if cached is not None and cached[0] == key:
        return cached[1]
    if not fingerprint["count"]:
        configs = _DEFAULT_SET
    else:
        rows = ConfigVersion.objects.filter(program_id=program.pk).order_by("version")
        configs = ConfigSet(tuple(row.to_config() for row in rows))
    with _LOCK:
        _CACHE[program.pk] = (key, configs)
    return configs


def config_cache_forget(*, program_id: int | None = None) -> None:
    """Drop the cached ``ConfigSet`` of one program (of every program without an argument)."""
    with _LOCK:
        if program_id is None:
            _CACHE.clear()
        else:
            _CACHE.pop(program_id, None)


def current_config(program: Program, at: dt.datetime | None = None) -> ProgramConfig:
    """The version of ``program``'s configuration in force at ``at`` (now by default)."""
    return config_set(program).at(at or clock.now())


def config_versions(program: Program) -> QuerySet[ConfigVersion]:
    """The history of ``program``'s versions, newest number first, with their authors."""
    return (
        ConfigVersion.objects.filter(program=program)
        .select_related("created_by")
        .order_by("-version")
    )


def config_version_get(program: Program, version: int) -> ConfigVersion:
    """Version ``version`` of ``program`` (404 when it does not exist)."""
    row = config_versions(program).filter(version=version).first()
    if row is None:
        raise Http404("no such configuration version")
    return row


def config_scheduled(program: Program, at: dt.datetime | None = None) -> list[ConfigVersion]:
    """Versions that take effect after ``at`` (now by default), soonest first."""
    moment = at or clock.now()
    return list(
        config_versions(program)
        .filter(effective_from__gt=moment)
        .order_by("effective_from", "version")
    )


def referral_programs_of(vendor: Organisation) -> QuerySet[Program]:
    """The vendor's programs of kind ``referrals``, oldest first."""
    return Program.objects.filter(vendor=vendor, kind=ProgramKind.REFERRALS).order_by("pk")


def referral_program_of(vendor: Organisation, code: str = "") -> Program | None:
    """The vendor's referral program with ``code``, or its first one when no code is given.

    None when the vendor has no referral program; 404 for a code that is not one of them.
    """
    programs = referral_programs_of(vendor)
    if code:
        program = programs.filter(code=code).first()
        if program is None:
            raise Http404("no such referral program")
        return program
    return programs.first()
