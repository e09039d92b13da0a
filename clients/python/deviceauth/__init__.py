"""Reference client for the template's device authentication. Standard library only.

from deviceauth import DeviceClient
client = DeviceClient("https://api.example.com", app_key_id="ios-2026", app_secret="...")
client.register(platform="ios", app_version="1.4.0")   # keep client.credentials safely
me = client.request("GET", "/api/v1/me/").json()        # gets, refreshes and renews tokens
"""

from deviceauth.client import DeviceClient, DeviceCredentials, Tokens
from deviceauth.signing import new_nonce, sign_request, string_to_sign
from deviceauth.transport import ApiError, Response

__all__ = [
    "ApiError",
    "DeviceClient",
    "DeviceCredentials",
    "Response",
    "Tokens",
    "new_nonce",
    "sign_request",
    "string_to_sign",
]
