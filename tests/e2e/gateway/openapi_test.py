#!/usr/bin/env python3
"""gateway/openapi.yaml against the real gateway.

For every (path, method, status) the document lists, and for the responses
it documents outside the four operations (unknown path, wrong method), a real
request through the in-process gateway produces that status, with the
documented headers and a body of the documented shape (empty, a bare array of
{id}, or {"error": string}). The examples in the document match their own
schemas, and the request bodies that succeed match the request schemas.
"""

import json
import os
import re
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_e2e_test as e2e  # noqa: E402
import harness  # noqa: E402
from harness import request  # noqa: E402

STACK = e2e.STACK
OPENAPI = os.path.join(harness.SOURCE_DIR, "gateway", "openapi.yaml")
API_PATHS = {"/v1/callable-devices", "/v1/call", "/v1/update-call",
             "/v1/cancel-call"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch",
                "trace"}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                  r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Keywords that only annotate; everything else must be checked below, so the
# document cannot promise something this test does not verify.
ANNOTATIONS = {"description", "example", "title"}


class SchemaError(Exception):
    pass


class Document:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise SchemaError("only local $ref: %s" % ref)
            target = self.doc
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        return node

    def validate(self, schema, value, where="$"):
        """Raises SchemaError unless `value` (parsed JSON) fits `schema`."""
        schema = self.resolve(schema)
        unknown = set(schema) - ANNOTATIONS - {
            "type", "properties", "required", "additionalProperties", "items",
            "enum", "format", "pattern", "minLength", "maxLength"}
        if unknown:
            raise SchemaError("%s: schema keywords not checked: %s" % (
                where, sorted(unknown)))
        kind = schema.get("type")
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v,
                                                                       bool),
            "boolean": lambda v: isinstance(v, bool),
        }
        if kind is not None:
            if kind not in checks:
                raise SchemaError("%s: type %r not checked" % (where, kind))
            if not checks[kind](value):
                raise SchemaError("%s: %r is not %s" % (where, value, kind))
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError("%s: %r not in %r" % (where, value,
                                                    schema["enum"]))
        if isinstance(value, str):
            fmt = schema.get("format")
            if fmt is not None:
                if fmt != "uuid":
                    raise SchemaError("%s: format %r not checked" % (where,
                                                                     fmt))
                if not UUID.match(value):
                    raise SchemaError("%s: %r is not a uuid" % (where, value))
            if "pattern" in schema and not re.search(schema["pattern"], value):
                raise SchemaError("%s: %r does not match %s" % (
                    where, value, schema["pattern"]))
            if len(value) < schema.get("minLength", 0):
                raise SchemaError("%s: %r too short" % (where, value))
            if len(value) > schema.get("maxLength", len(value)):
                raise SchemaError("%s: %r too long" % (where, value))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    raise SchemaError("%s: %s is required" % (where, name))
            extra = schema.get("additionalProperties", True)
            for name, item in value.items():
                if name in props:
                    self.validate(props[name], item, "%s.%s" % (where, name))
                elif extra is False:
                    raise SchemaError("%s: unexpected field %s" % (where,
                                                                   name))
                elif isinstance(extra, dict):
                    self.validate(extra, item, "%s.%s" % (where, name))
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.validate(schema["items"], item, "%s[%d]" % (where, i))

    def operations(self):
        """{(path, method, status): response object}, $refs resolved."""
        out = {}
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue
                for status, resp in op["responses"].items():
                    out[(path, method.upper(), int(status))] = self.resolve(
                        resp)
        return out

    def referenced(self):
        refs = set()

        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    refs.add(node["$ref"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(self.doc)
        return refs

    def unreferenced_responses(self):
        """Component responses no operation uses: the documented answers to
        requests outside the operations (unknown path, wrong method)."""
        refs = self.referenced()
        return {name: resp for name, resp in
                self.doc["components"]["responses"].items()
                if "#/components/responses/" + name not in refs}


DOC = Document(OPENAPI)
MAIN = lambda: STACK.main.http  # noqa: E731


def d():
    return e2e.data()


def body_for(path, device_id, call_id):
    if path == "/v1/cancel-call":
        return {"deviceId": device_id, "callId": call_id,
                "reason": "cancelled"}
    return {"deviceId": device_id, "callId": call_id,
            "callerName": "Riverside Surgery"}


def post(address, path, body, **kw):
    return request(address, "POST", path, body, **kw)


def provider_rule(path, voip, push, rule):
    """A sandbox rule on the token `path` pushes to (VoIP for call)."""
    token = voip if path == "/v1/call" else push
    STACK.sandbox.put_rules([dict(rule, token=token)])


def recipe_202(path):
    def run():
        body = body_for(path, d().ios, e2e.fresh_call_id("oa202"))
        DOC.validate(request_schema(path), body)
        resp = post(MAIN(), path, body)
        pushes = STACK.sandbox.deliveries(
            d().ios_voip if path == "/v1/call" else d().ios_push)
        assert [p["payload"]["callId"] for p in pushes] == [body["callId"]], (
            pushes)
        return [resp]
    return run


def recipe_provider(path, rule):
    def run():
        device, voip, push = e2e.new_ios_device()
        provider_rule(path, voip, push, rule)
        return [post(MAIN(), path, body_for(path, device,
                                            e2e.fresh_call_id("oaprov")))]
    return run


def recipe_409():
    first, second, _, _, _ = e2e.call_while_in_flight(MAIN())
    assert first.status == 202, first
    return [second]


def recipe_list_504():
    with harness.tables_locked(STACK.db.url):
        return [request(MAIN(), "GET", e2e.number_query(e2e.fresh_number()))]


def request_schema(path):
    op = DOC.doc["paths"][path]["post"]
    return op["requestBody"]["content"]["application/json"]["schema"]


def post_recipes(path):
    def bad():
        body = body_for(path, "not-a-uuid", "c")
        return [post(MAIN(), path, body)]

    def unauthorized():
        return [post(STACK.auth.http, path, body_for(path, d().ios, "c"))]

    def not_found():
        return [post(MAIN(), path, body_for(path, d().unknown, "c")),
                post(MAIN(), path, body_for(path, d().inactive, "c"))]

    def too_large():
        return [post(MAIN(), path, e2e.padded_call_body(70 * 1024,
                                                        d().unknown))]

    def media_type():
        return [post(MAIN(), path, json.dumps(body_for(path, d().ios, "c")),
                     content_type="text/plain")]

    recipes = {
        202: recipe_202(path), 400: bad, 401: unauthorized, 404: not_found,
        413: too_large, 415: media_type,
        503: recipe_provider(path, {"status": 503}),
        504: recipe_provider(path, {"delay_ms": 4000}),
    }
    if path == "/v1/call":
        recipes[403] = lambda: [post(MAIN(), path, body_for(
            path, d().refusing, e2e.fresh_call_id("oa403")))]
        recipes[409] = recipe_409
    return {(path, "POST", status): run for status, run in recipes.items()}


RECIPES = {
    ("/v1/callable-devices", "GET", 200): lambda: [
        request(MAIN(), "GET", e2e.number_query(e2e.MAIN_NUMBER)),
        request(MAIN(), "GET", e2e.number_query(e2e.UNKNOWN_NUMBER))],
    ("/v1/callable-devices", "GET", 400): lambda: [
        request(MAIN(), "GET", e2e.number_query("07777123456"))],
    ("/v1/callable-devices", "GET", 401): lambda: [
        request(STACK.auth.http, "GET", e2e.number_query(e2e.MAIN_NUMBER))],
    ("/v1/callable-devices", "GET", 503): lambda: [
        request(STACK.nodb.http, "GET", e2e.number_query(e2e.MAIN_NUMBER))],
    ("/v1/callable-devices", "GET", 504): recipe_list_504,
}
for _path in ["/v1/call", "/v1/update-call", "/v1/cancel-call"]:
    RECIPES.update(post_recipes(_path))

COMPONENT_RECIPES = {
    "UnknownPath": lambda: [request(MAIN(), "GET", "/nowhere"),
                            request(MAIN(), "POST", "/v1/calls", {})],
    "MethodNotAllowed": lambda: [request(MAIN(), "GET", "/v1/call"),
                                 request(MAIN(), "POST",
                                         "/v1/callable-devices", {})],
}
COMPONENT_STATUS = {"UnknownPath": 404, "MethodNotAllowed": 405}


class OpenApiDocumentTest(unittest.TestCase):
    """The document on its own."""

    def test_is_openapi_3_0_3_with_the_four_uris(self):
        self.assertEqual(DOC.doc["openapi"], "3.0.3")
        self.assertEqual(set(DOC.doc["paths"]), API_PATHS)
        self.assertEqual(
            {(p, m) for p, item in DOC.doc["paths"].items() for m in item
             if m in HTTP_METHODS},
            {("/v1/callable-devices", "get"), ("/v1/call", "post"),
             ("/v1/update-call", "post"), ("/v1/cancel-call", "post")})

    def test_bearer_auth_is_optional(self):
        scheme = DOC.doc["components"]["securitySchemes"]["bearerAuth"]
        self.assertEqual((scheme["type"], scheme["scheme"]),
                         ("http", "bearer"))
        self.assertIn({}, DOC.doc["security"])
        self.assertIn({"bearerAuth": []}, DOC.doc["security"])

    def test_every_response_documents_x_request_id(self):
        responses = list(DOC.operations().items()) + [
            (name, r) for name, r in DOC.unreferenced_responses().items()]
        for key, resp in responses:
            with self.subTest(response=key):
                header = DOC.resolve(resp["headers"]["x-request-id"])
                self.assertTrue(header["required"])

    def test_examples_match_their_schemas(self):
        checked = 0
        for key, resp in list(DOC.operations().items()) + list(
                DOC.unreferenced_responses().items()):
            for media in resp.get("content", {}).values():
                examples = [media["example"]] if "example" in media else []
                examples += [DOC.resolve(e)["value"]
                             for e in media.get("examples", {}).values()]
                for example in examples:
                    with self.subTest(response=key, example=example):
                        DOC.validate(media["schema"], example)
                        checked += 1
        for path, item in DOC.doc["paths"].items():
            for method, op in item.items():
                for media in op.get("requestBody", {}).get("content",
                                                           {}).values():
                    if "example" in media:
                        DOC.validate(media["schema"], media["example"])
                        checked += 1
                for param in op.get("parameters", []):
                    param = DOC.resolve(param)
                    if "example" in param:
                        DOC.validate(param["schema"], param["example"])
                        checked += 1
        self.assertGreaterEqual(checked, 6)
        # The document's own example values (shared/seed/calls-api.md).
        with open(OPENAPI, encoding="utf-8") as f:
            text = f.read()
        for value in ["cbc16ed8-0422-456f-9e15-f269b8a25811",
                      "7d7e2fdb-416d-4dc8-a545-e42ee157ef03",
                      "c1a21fce-8660-4c69-a98d-820a50154f93",
                      "device rejected inbound call", "+447777123456"]:
            self.assertIn(value, text)

    def test_every_documented_status_has_a_request_that_produces_it(self):
        self.assertEqual(set(DOC.operations()), set(RECIPES))
        self.assertEqual(set(DOC.unreferenced_responses()),
                         set(COMPONENT_RECIPES))


class OpenApiConformanceTest(e2e.GatewayTestCase):
    """Real answers against the document."""

    def check(self, key, documented, responses, status):
        content = documented.get("content")
        for resp in responses:
            with self.subTest(response=key, got=resp):
                self.assertEqual(resp.status, status, resp)
                for name, header in documented.get("headers", {}).items():
                    if DOC.resolve(header).get("required"):
                        self.assertTrue(resp.header(name), (name, resp))
                if not content:
                    self.assertEqual(resp.body, b"", resp)
                    continue
                self.assertEqual(list(content), ["application/json"])
                self.assertTrue((resp.header("content-type") or "")
                                .startswith("application/json"), resp)
                DOC.validate(content["application/json"]["schema"],
                             resp.json())

    def test_operations(self):
        for key, documented in sorted(DOC.operations().items()):
            if key not in RECIPES:
                continue  # reported by OpenApiDocumentTest
            STACK.sandbox.clear()
            with self.subTest(recipe=key):
                self.check(key, documented, RECIPES[key](), key[2])

    def test_answers_outside_the_operations(self):
        for name, documented in sorted(DOC.unreferenced_responses().items()):
            if name not in COMPONENT_RECIPES:
                continue
            with self.subTest(recipe=name):
                self.check(name, documented, COMPONENT_RECIPES[name](),
                           COMPONENT_STATUS[name])

    def test_a_listed_device_array_is_not_empty_when_devices_exist(self):
        # The 200 recipe exercises the item schema, not only [].
        resp = request(MAIN(), "GET", e2e.number_query(e2e.MAIN_NUMBER))
        self.assertEqual(len(resp.json()), 2)


def main():
    program = unittest.main(exit=False, verbosity=2)
    ok = program.result.wasSuccessful()
    harness.close_and_exit(STACK, ok)


if __name__ == "__main__":
    main()
