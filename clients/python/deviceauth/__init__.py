"""Reference client for the template's device authentication. Standard library only.

from deviceauth import DeviceClient
client = DeviceClient("https://api.example.com", app_key_id="ios-2026", app_secret="...")
client.register(platform="ios", app_version="1.4.0")   # keep client.credentials safely
client.get_token()
me = client.request("GET", "/api/v1/me/").json()
"""

from deviceauth.client import ApiError, DeviceClient, DeviceCredentials, Response, Tokens
from deviceauth.signing import sign_request, string_to_sign

__all__ = [
    "ApiError",
    "DeviceClient",
    "DeviceCredentials",
    "Response",
    "Tokens",
    "sign_request",
    "string_to_sign",
]
