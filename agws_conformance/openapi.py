"""An OpenAPI 3.1 description of every documented method (``endpoints.METHODS``), built from the schema files.

OpenAPI 3.1 speaks JSON Schema 2020-12, so the message schemas are embedded unchanged except for
their ``$ref``s, which are rewritten from file references (``common.json#/$defs/uint``) to
component references (``#/components/schemas/uint``). Nothing is described twice: a schema change
shows up in the export on the next run.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from . import __version__
from .catalogue import load_catalogue
from .errors import OpenAPIBuildError
from .endpoints import METHODS, PRODUCTION_HOSTS
from .schemas import load_schema, schema_names

COMPONENTS = "#/components/schemas/"
# operationId and summary per method (the rest comes from endpoints.METHODS).
_OPERATIONS: dict[str, tuple[str, str]] = {
    "user/check": ("checkAccount", "Check account status by username"),
    "action/status": ("getPaymentStatus", "Payment (top-up) status by external_id"),
    "action/cash-in": ("makePayment", "Make a payment (top-up) for an account"),
    "showcase/balance": ("getShowcaseBalance", "The showcase's remaining balance"),
    "calculate/upper/commission": ("calculateUpperCommission", "The commission on top of an amount"),
    "action/confirm/invoice": ("confirmDebit", "Confirm a funds debit with its confirmation code"),
    "action/link": ("createPaymentLink", "Create a payment link for a user"),
}
_FILE_REF = re.compile(r"^(?P<file>[a-z][a-z0-9-]*)\.json(?:#(?P<pointer>.*))?$")

_SIGNATURE_DESCRIPTION = (
    "Lowercase hex SHA-256 of base64(canonical body) + project secret, where the canonical body is "
    "Go's json.Marshal of the body decoded into map[string]interface{} (keys sorted, compact, "
    "HTML-escaped). See docs/errata.md for the documents' disagreements about empty-string fields."
)


def _rewrite_ref(ref: str, *, current: str) -> str:
    if ref.startswith("#"):
        # A local reference: only common.json uses them (#/$defs/<name>).
        pointer = ref[1:]
        if current == "common" and pointer.startswith("/$defs/"):
            return COMPONENTS + pointer[len("/$defs/"):]
        return f"{COMPONENTS}{current}{pointer}"
    match = _FILE_REF.match(ref)
    if match is None:
        raise OpenAPIBuildError(f"schemas/{current}.json: cannot embed $ref {ref!r}")
    target, pointer = match["file"], match["pointer"] or ""
    if target == "common" and pointer.startswith("/$defs/"):
        return COMPONENTS + pointer[len("/$defs/"):]
    return f"{COMPONENTS}{target}{pointer}"


def _embed(node: Any, *, current: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("$id", "$schema"):
                continue
            if key == "$ref" and isinstance(value, str):
                out[key] = _rewrite_ref(value, current=current)
            elif key in ("const", "enum", "examples", "default"):
                out[key] = copy.deepcopy(value)  # values, not schemas
            else:
                out[key] = _embed(value, current=current)
        return out
    if isinstance(node, list):
        return [_embed(item, current=current) for item in node]
    return node


def component_schemas() -> dict[str, Any]:
    """Every shared definition and message schema, keyed by component name."""
    components: dict[str, Any] = {}
    for name, definition in load_schema("common")["$defs"].items():
        components[name] = _embed(definition, current="common")
    for name in schema_names():
        if name in components:
            raise OpenAPIBuildError(f"schemas/{name}.json clashes with common.json $defs/{name}")
        components[name] = _embed(load_schema(name), current=name)
    return components


def _json_body(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": COMPONENTS + schema_ref}}}


def _operation(*, operation_id: str, summary: str, description: str, request: str, success: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "parameters": [
            {
                "name": "X-Signature",
                "in": "header",
                "required": True,
                "description": _SIGNATURE_DESCRIPTION,
                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            }
        ],
        "security": [{"XSignature": []}],
        "requestBody": {"required": True, "content": _json_body(request)},
        "responses": {
            "200": {
                "description": "Success, or an expected error: new format (status true, result.error_code "
                "non-zero) or, on targets not yet switched, old format (status false).",
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": COMPONENTS + success},
                                {"$ref": COMPONENTS + "error-expected-new"},
                                {"$ref": COMPONENTS + "error-expected-old"},
                            ]
                        }
                    }
                },
            },
            "400": {
                "description": "Unexpected error, e.g. 1014 Invalid signature or a malformed request.",
                "content": _json_body("error-unexpected"),
            },
            "default": {
                "description": "Unexpected error under another failing status (4xx, 5xx); an old-format "
                "expected error may also use a non-200 status (same shape).",
                "content": _json_body("error-unexpected"),
            },
        },
    }


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``user/check`` and ``action/status`` (a JSON-able dict)."""
    catalogue = load_catalogue()
    host = sorted(PRODUCTION_HOSTS)[0]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "AGWS showcase-gateway (as specified by agws-conformance)",
            "version": __version__,
            "summary": "Account check and payment status of the Tarlan Payments AGWS showcase gateway.",
            "description": (
                "Generated from the agws-conformance JSON Schemas (requirement catalogue "
                f"{catalogue.version}, errata {catalogue.errata_version}). Where the source documents "
                "contradict each other, the schemas follow the decisions listed in docs/errata.md. "
                "Undocumented response fields are allowed (forward compatibility)."
            ),
        },
        "servers": [{"url": f"https://{host}", "description": "Production (documented host)"}],
        "security": [{"XSignature": []}],
        "paths": {
            method.path: {
                "post": _operation(
                    operation_id=_OPERATIONS[name][0],
                    summary=_OPERATIONS[name][1],
                    description=f"{method.page}." + (" Moves money: the suite runs it only with a [write] table."
                                                     if method.writes else ""),
                    request=method.request_schema,
                    success=method.success_schema,
                )
            }
            for name, method in METHODS.items()
        },
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "XSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": _SIGNATURE_DESCRIPTION,
                }
            },
        },
    }
