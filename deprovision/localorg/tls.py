"""A self-signed TLS certificate for the local org, kept in the state folder.

simple-salesforce always builds ``https://`` URLs, so the local org speaks TLS.
The certificate names ``IP:127.0.0.1`` and ``DNS:localhost``; clients trust it
by pointing ``requests.Session.verify`` at ``cert.pem`` (the CA bundle).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "localorg-cert.pem"
KEY_NAME = "localorg-key.pem"
VALID_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class CertificatePaths:
    """Where the certificate (also the CA bundle clients trust) and its key live."""

    cert: Path
    key: Path


def ensure_certificate(cert_dir: Path) -> CertificatePaths:
    """Reuse the certificate in ``cert_dir`` while it is valid; otherwise write a new one."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    paths = CertificatePaths(cert_dir / CERT_NAME, cert_dir / KEY_NAME)
    with open(cert_dir / ".localorg-cert.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two servers starting at once write one pair, not a mix
        if not _usable(paths):
            _write_new(paths)
    return paths


def _write_new(paths: CertificatePaths) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key)
    _write_private(paths.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    tmp = paths.cert.with_suffix(".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp.replace(paths.cert)


def _usable(paths: CertificatePaths) -> bool:
    if not (paths.cert.is_file() and paths.key.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    except (ValueError, TypeError):
        return False
    same_key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return same_key and cert.not_valid_after_utc - RENEW_BEFORE > dt.datetime.now(dt.UTC)


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "deprovision local org"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "deprovision"),
    ])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)
