"""The RATE_LIMITS table: SPEC §4's defaults, each overridden by RATE_LIMIT_<SCOPE>, malformed
rates refused at start-up with the variable named."""

import json

import pytest

from tests.processes import run_manage

SCOPES = ("burst", "sustained", "auth_token", "data_modification", "content_listing", "search")
VARIABLES = tuple(f"RATE_LIMIT_{scope.upper()}" for scope in (*SCOPES, "admin"))
PRINT_RATES = (
    "from django.conf import settings; import json; print(json.dumps(settings.RATE_LIMITS))"
)


def rate_limits(env: dict[str, str]) -> dict[str, list[int]]:
    unset = tuple(name for name in VARIABLES if name not in env)
    result = run_manage("shell", "-c", PRINT_RATES, env=env, drop=unset)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, list[int]] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_the_defaults_are_the_specs():
    assert rate_limits({}) == {
        "burst": [60, 60],
        "sustained": [1000, 3600],
        "auth_token": [5, 60],
        "data_modification": [30, 60],
        "content_listing": [30, 60],
        "search": [20, 60],
        "admin": [100, 3600],
    }


def test_each_rate_is_read_from_its_variable_in_every_form():
    rates = rate_limits(
        {
            "RATE_LIMIT_BURST": "5/10s",
            "RATE_LIMIT_SUSTAINED": "100/2hour",
            "RATE_LIMIT_AUTH_TOKEN": "1/sec",
            "RATE_LIMIT_DATA_MODIFICATION": "3/day",
            "RATE_LIMIT_CONTENT_LISTING": " 7/min ",
            "RATE_LIMIT_SEARCH": "20/15min",
            "RATE_LIMIT_ADMIN": "2/s",
        }
    )
    assert rates == {
        "burst": [5, 10],
        "sustained": [100, 7200],
        "auth_token": [1, 1],
        "data_modification": [3, 86400],
        "content_listing": [7, 60],
        "search": [20, 900],
        "admin": [2, 1],
    }


@pytest.mark.parametrize(
    "rate",
    [
        *("60", "60/minute", "0/min", "5/0s", "1.5/min", ""),
        # Past what Redis's script counts right (Lua's doubles) or runs at all.
        *("1000000001/min", "10000000000000000000/min", "1000/366day", "1000/300000000000000s"),
    ],
)
def test_a_malformed_rate_refuses_to_start_naming_the_variable(rate):
    result = run_manage("check", env={"RATE_LIMIT_SEARCH": rate})
    assert result.returncode != 0
    assert f'RATE_LIMIT_SEARCH="{rate}" is not a rate' in result.stderr
    assert "e.g. 60/min, 5/10s, 100/2hour" in result.stderr


def test_the_largest_rate_is_read():
    assert rate_limits({"RATE_LIMIT_SEARCH": "1000000000/365day"})["search"] == [
        1_000_000_000,
        365 * 86400,
    ]


@pytest.mark.parametrize("name", ["RATE_LIMIT_BRUST", "RATE_LIMIT_AUTHTOKEN", "RATE_LIMIT_"])
def test_a_misspelt_rate_variable_refuses_to_start_naming_it(name):
    # Read as nothing, it would leave the scope's default in force unnoticed.
    result = run_manage("check", env={name: "1/min"})
    assert result.returncode != 0
    assert f"{name} is not a setting: the rate variables are RATE_LIMIT_ADMIN, " in result.stderr
