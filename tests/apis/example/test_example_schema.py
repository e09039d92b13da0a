"""The example's operations in the API schema (api/apis/example/): listed with the credentials
each takes and checked as the project's are (tests/test_docs.py), and what its own components
and responses say. tests/test_openapi_conformance.py reads SUCCEED_WITH_GENERATED_DATA here."""

from tests.test_docs import BEARER, Label, Security, assert_listed, generated_schema, operations_of

# The example's operations and the credentials each takes.
OPERATIONS: dict[Label, Security] = {
    ("GET", "/api/v1/categories/"): BEARER,
    ("POST", "/api/v1/categories/"): BEARER,
    ("GET", "/api/v1/categories/{category_id}/"): BEARER,
    ("PUT", "/api/v1/categories/{category_id}/"): BEARER,
    ("PATCH", "/api/v1/categories/{category_id}/"): BEARER,
    ("DELETE", "/api/v1/categories/{category_id}/"): BEARER,
    ("GET", "/api/v1/items/"): BEARER,
    ("POST", "/api/v1/items/"): BEARER,
    ("GET", "/api/v1/items/{item_id}/"): BEARER,
    ("PUT", "/api/v1/items/{item_id}/"): BEARER,
    ("PATCH", "/api/v1/items/{item_id}/"): BEARER,
    ("DELETE", "/api/v1/items/{item_id}/"): BEARER,
    ("GET", "/api/v1/items/search/"): BEARER,
}
# The example's operations that valid generated input can pass (the others need ids it cannot
# guess; category writes get through as the conformance run's bearer user is staff).
SUCCEED_WITH_GENERATED_DATA = {
    "GET /api/v1/categories/",
    "POST /api/v1/categories/",
    "GET /api/v1/items/",
    "GET /api/v1/items/search/",
}


def test_the_schema_has_the_example_operations_and_what_they_answer(tmp_path):
    schema = generated_schema(tmp_path)
    operations = operations_of(schema)
    assert_listed(operations, OPERATIONS, {"example"})
    # What the server refuses, the schema refuses: a negative price, one without digits.
    components = schema["components"]["schemas"]
    for component in ("ItemInputRequest", "ItemOutput"):
        assert components[component]["properties"]["price"]["pattern"] == (
            r"^(?:\d{1,8}(?:\.\d{0,2})?|\.\d{1,2})$"
        )
    item_delete = operations[("DELETE", "/api/v1/items/{item_id}/")]
    assert set(item_delete["responses"]) == {
        *("204", "400", "401", "403", "404", "406", "411", "429", "500", "503")
    }
    assert "Retry-After" in item_delete["responses"]["429"]["headers"]
    item_create = operations[("POST", "/api/v1/items/")]
    assert {"400", "409", "411", "413", "415"} <= set(item_create["responses"])
