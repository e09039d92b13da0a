"""Key pairs for the RS256 and ES256 tests, in PEM, as the JWT key settings hold them."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def private_key(algorithm: str) -> PrivateKey:
    """A new key of `algorithm`'s kind: EC on P-256 for ES256, RSA of 2048 bits for RS256."""
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_pair(key: PrivateKey) -> tuple[str, str]:
    """`key` (PKCS#8, unencrypted) and its public key (SubjectPublicKeyInfo), in PEM."""
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
