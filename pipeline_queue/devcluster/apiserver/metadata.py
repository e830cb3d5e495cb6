"""Object metadata rules: name grammars, generated names, labels, annotations, finalizers, owner references.

Messages are apimachinery's, so a client matching on them behaves as against a real cluster.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from .errors import FieldError

_EXAMPLES_SUBDOMAIN = "(e.g. 'example.com', regex used for validation is "
_SUBDOMAIN_RE = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_RE = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL1035_RE = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_RE = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_VALUE_RE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

_RULES: dict[str, tuple[str, int, str]] = {
    "subdomain": (_SUBDOMAIN_RE, 253,
                  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                  "'.', and must start and end with an alphanumeric character " + _EXAMPLES_SUBDOMAIN
                  + f"'{_SUBDOMAIN_RE}')"),
    "label": (_LABEL_RE, 63,
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              f"validation is '{_LABEL_RE}')"),
    "label1035": (_LABEL1035_RE, 63,
                  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                  f"regex used for validation is '{_LABEL1035_RE}')"),
}
_QUALIFIED_MESSAGE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                      "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                      f"validation is '{_QUALIFIED_RE}')")
_VALUE_MESSAGE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                  f"'12345', regex used for validation is '{_VALUE_RE}')")
# The alphabet of apimachinery's utilrand: no vowels, so a generated suffix never spells a word.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUFFIX_LENGTH = 5
_MAX_GENERATED_BASE = 63 - _SUFFIX_LENGTH
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def now() -> str:
    """The current time as the API shows it: RFC 3339, second precision, `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def generate_name(base: str) -> str:
    """`base` (cut to 58 characters) plus five random characters, like the real name generator."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LENGTH))
    return base[:_MAX_GENERATED_BASE] + suffix


def name_problems(name: str, rule: str, *, prefix: bool = False) -> list[str]:
    """Why `name` breaks `rule` ("subdomain", "label", "label1035"); a generateName prefix may end in '-'."""
    pattern, limit, message = _RULES[rule]
    if prefix and name.endswith("-"):
        name = name[:-1] + "a"
    problems = [f"must be no more than {limit} characters"] if len(name) > limit else []
    if not re.fullmatch(pattern, name):
        problems.append(message)
    return problems


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a qualified name (`[prefix/]name`), or None."""
    parts = key.split("/")
    if len(parts) > 2:
        return ("a qualified name " + _QUALIFIED_MESSAGE
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            return "prefix part must be non-empty"
        if problems := name_problems(parts[0], "subdomain"):
            return "prefix part " + problems[0]
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not re.fullmatch(_QUALIFIED_RE, name):
        return "name part " + _QUALIFIED_MESSAGE
    return None


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a valid label value, or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    return None if re.fullmatch(_VALUE_RE, value) else _VALUE_MESSAGE


def validate_name(meta: dict[str, Any], rule: str) -> list[FieldError]:
    """metadata.name and metadata.generateName against the resource's name rule."""
    errors = []
    generate = meta.get("generateName") or ""
    if generate:
        errors += [FieldError("FieldValueInvalid", "metadata.generateName", p, generate)
                   for p in name_problems(generate, rule, prefix=True)]
    name = meta.get("name") or ""
    if not name:
        return [*errors, FieldError("FieldValueRequired", "metadata.name", "name or generateName is required")]
    return errors + [FieldError("FieldValueInvalid", "metadata.name", p, name) for p in name_problems(name, rule)]


def validate_meta(meta: dict[str, Any]) -> list[FieldError]:
    """Labels, annotations, finalizers and owner references, as ValidateObjectMeta checks them."""
    errors = []
    for key, value in (meta.get("labels") or {}).items():
        if problem := label_key_problem(key):
            errors.append(FieldError("FieldValueInvalid", "metadata.labels", problem, key))
        if not isinstance(value, str) or (problem := label_value_problem(value)):
            errors.append(FieldError("FieldValueInvalid", "metadata.labels", problem or "must be a string", value))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        if problem := label_key_problem(key.lower()):
            errors.append(FieldError("FieldValueInvalid", "metadata.annotations", problem, key))
    size = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if size > _ANNOTATIONS_MAX_BYTES:
        errors.append(FieldError("FieldValueTooLong", "metadata.annotations",
                                 f"must have at most {_ANNOTATIONS_MAX_BYTES} bytes"))
    return errors + _finalizer_errors(meta) + _owner_errors(meta)


def _finalizer_errors(meta: dict[str, Any]) -> list[FieldError]:
    errors = []
    for finalizer in meta.get("finalizers") or []:
        problem = label_key_problem(finalizer)
        if not problem and "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
            problem = "name is neither a standard finalizer name nor is it fully qualified"
        if problem:
            errors.append(FieldError("FieldValueInvalid", "metadata.finalizers", problem, finalizer))
    return errors


def _owner_errors(meta: dict[str, Any]) -> list[FieldError]:
    errors = []
    owners = meta.get("ownerReferences") or []
    for field in ("apiVersion", "kind", "name", "uid"):
        for owner in owners:
            if not owner.get(field):
                label = "version" if field == "apiVersion" else field
                errors.append(FieldError("FieldValueInvalid", f"metadata.ownerReferences.{field}",
                                         f"{label} must not be empty", ""))
    controllers = [o.get("name", "") for o in owners if o.get("controller")]
    if len(controllers) > 1:
        errors.append(FieldError("FieldValueInvalid", "metadata.ownerReferences", "Only one reference can have "
                                 f"Controller set to true. Found \"true\" in references for {', '.join(controllers)}",
                                 controllers))
    return errors


def finalizers_added_while_deleting(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """The real server refuses new finalizers on an object that is already being deleted."""
    if not old.get("deletionTimestamp"):
        return []
    added = set(new.get("finalizers") or []) - set(old.get("finalizers") or [])
    if not added:
        return []
    return [FieldError("FieldValueForbidden", "metadata.finalizers",
                       "no new finalizers can be added if the object is being deleted, found new finalizers "
                       + "[" + " ".join(sorted(added)) + "]")]
