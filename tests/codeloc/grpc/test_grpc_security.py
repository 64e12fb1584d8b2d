"""Who may call a code location: the shared secret on every call, TLS and mutual TLS, with
certificates made here (a CA, the location's certificate, the server's client certificate)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from codeloc import AssetKey
from codeloc._errors import SettingsInvalid
from codeloc.grpc import (
    CodeLocationClient,
    CodeLocationUnavailable,
    CodeSource,
    CredentialsRejected,
    EventDestination,
    LocationServer,
    RunLaunch,
)
from codeloc.grpc._security import ClientSecurity, LocationSecurity

if TYPE_CHECKING:
    from conftest import CodelocProcess, StartServer

SECRET = "s3cret-of-this-deployment"


# -- certificates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    location_cert: Path
    location_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    usage: x509.ObjectIdentifier,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    folder = tmp_path_factory.mktemp("certs")
    ca_key, ca_cert = _ca("tessera test CA")
    loc_key, loc_cert = _leaf(ca_key, ca_cert, "code-location", ExtendedKeyUsageOID.SERVER_AUTH)
    cli_key, cli_cert = _leaf(ca_key, ca_cert, "tessera-server", ExtendedKeyUsageOID.CLIENT_AUTH)
    _, other_cert = _ca("another CA")
    return Certificates(
        ca=_write_cert(ca_cert, folder / "ca.pem"),
        location_cert=_write_cert(loc_cert, folder / "location.pem"),
        location_key=_write_key(loc_key, folder / "location-key.pem"),
        client_cert=_write_cert(cli_cert, folder / "client.pem"),
        client_key=_write_key(cli_key, folder / "client-key.pem"),
        other_ca=_write_cert(other_cert, folder / "other-ca.pem"),
    )


# -- the shared secret ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(start_server: StartServer) -> LocationServer:
    server = start_server("grpc_runs", security=LocationSecurity(secret=SECRET))
    with CodeLocationClient(server.address, security=ClientSecurity(secret=SECRET)) as client:
        client.wait_until_loaded(30)
    return server


def _every_call(client: CodeLocationClient) -> dict[str, Callable[[], object]]:
    destination = EventDestination("http://127.0.0.1:9/api/v1/events", "run-token")
    launch = RunLaunch("run-unauthenticated", (AssetKey("a"),), destination)
    return {
        "GetInfo": client.info,
        "StreamSnapshot": client.snapshot,
        "LaunchRun": lambda: client.launch(launch),
        "CancelRun": lambda: client.cancel("run-unauthenticated"),
        "ListRuns": client.runs,
        "Shutdown": lambda: client.shutdown(grace=0.0),
    }


def test_every_method_refuses_a_call_without_the_secret(guarded: LocationServer) -> None:
    with CodeLocationClient(guarded.address) as client:
        for method, call in _every_call(client).items():
            with pytest.raises(CredentialsRejected, match="carried none") as refused:
                call()
            assert "TESSERA_LOCATION_SECRET" in str(refused.value), method
    # Shutdown was refused too: the location still serves the right caller, and ran nothing.
    with CodeLocationClient(guarded.address, security=ClientSecurity(secret=SECRET)) as client:
        assert client.info().state == "loaded"
        assert client.runs() == []


def test_a_wrong_secret_is_refused_and_named(guarded: LocationServer) -> None:
    wrong = ClientSecurity(secret=SECRET + "x")
    with CodeLocationClient(guarded.address, security=wrong) as client:
        for call in _every_call(client).values():
            with pytest.raises(CredentialsRejected, match="TESSERA_LOCATION_SECRET differs"):
                call()


def test_the_refusal_is_unauthenticated_on_the_wire(guarded: LocationServer) -> None:
    """Any gRPC client, not only ours, gets the standard status and a readable reason."""
    from codeloc.protos.tessera.codelocation.v1 import code_location_pb2 as cl_pb
    from codeloc.protos.tessera.codelocation.v1 import code_location_pb2_grpc as cl_grpc

    with grpc.insecure_channel(guarded.address) as channel:
        stub = cl_grpc.CodeLocationStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetInfo(cl_pb.GetInfoRequest(), timeout=5, metadata=(("authorization", "x"),))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "TESSERA_LOCATION_SECRET differs" in (refused.value.details() or "")
        ok = stub.GetInfo(
            cl_pb.GetInfoRequest(), timeout=5, metadata=(("authorization", f"Bearer {SECRET}"),)
        )
        assert ok.location.name == guarded.name


def test_health_and_reflection_stay_open(guarded: LocationServer) -> None:
    with CodeLocationClient(guarded.address) as client:
        assert client.health() == "SERVING"
    with grpc.insecure_channel(guarded.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = stub.ServerReflectionInfo(iter([request]), timeout=5)
        names = {s.name for s in reply.list_services_response.service}
        assert "tessera.codelocation.v1.CodeLocation" in names
        check = health_pb2_grpc.HealthStub(channel).Check  # type: ignore[attr-defined]
        assert check(health_pb2.HealthCheckRequest(), timeout=5).status == (
            health_pb2.HealthCheckResponse.SERVING
        )


# -- TLS and mutual TLS --------------------------------------------------------------------------


def test_tls_serves_a_client_that_trusts_its_ca_and_refuses_plaintext(
    start_server: StartServer, certs: Certificates
) -> None:
    server = start_server(
        "grpc_runs",
        security=LocationSecurity(
            secret=SECRET, tls_cert=certs.location_cert, tls_key=certs.location_key
        ),
    )
    tls = ClientSecurity(secret=SECRET, tls_ca=certs.ca)
    with CodeLocationClient(server.address, security=tls) as client:
        assert client.wait_until_loaded(30).state == "loaded"
        assert client.snapshot().assets
    plaintext = ClientSecurity(secret=SECRET)
    with (
        CodeLocationClient(server.address, timeout=2, security=plaintext) as client,
        pytest.raises(CodeLocationUnavailable),
    ):
        client.info()
    untrusting = ClientSecurity(secret=SECRET, tls_ca=certs.other_ca)
    with (
        CodeLocationClient(server.address, timeout=2, security=untrusting) as client,
        pytest.raises(CodeLocationUnavailable),
    ):
        client.info()


def test_mutual_tls_refuses_a_client_without_a_certificate(
    start_server: StartServer, certs: Certificates
) -> None:
    server = start_server(
        "grpc_runs",
        security=LocationSecurity(
            secret=SECRET,
            tls_cert=certs.location_cert,
            tls_key=certs.location_key,
            tls_client_ca=certs.ca,
        ),
    )
    no_cert = ClientSecurity(secret=SECRET, tls_ca=certs.ca)
    with CodeLocationClient(server.address, timeout=2, security=no_cert) as client:
        with pytest.raises(CodeLocationUnavailable):
            client.info()
        # Not even health answers: the handshake comes before any service.
        with pytest.raises(CodeLocationUnavailable):
            client.health()
    mutual = ClientSecurity(
        secret=SECRET, tls_ca=certs.ca, tls_cert=certs.client_cert, tls_key=certs.client_key
    )
    with CodeLocationClient(server.address, security=mutual) as client:
        assert client.wait_until_loaded(30).state == "loaded"
    # TLS does not replace the secret: a certificate without it is still refused.
    mutual_only = ClientSecurity(
        tls_ca=certs.ca, tls_cert=certs.client_cert, tls_key=certs.client_key
    )
    with (
        CodeLocationClient(server.address, security=mutual_only) as client,
        pytest.raises(CredentialsRejected),
    ):
        client.info()


def test_settings_that_do_not_go_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsInvalid, match="TESSERA_LOCATION_TLS_KEY"):
        LocationSecurity(tls_cert=tmp_path / "cert.pem")
    with pytest.raises(SettingsInvalid, match="TESSERA_LOCATION_TLS_CLIENT_CA"):
        LocationSecurity(tls_client_ca=tmp_path / "ca.pem")
    with pytest.raises(SettingsInvalid, match="TESSERA_LOCATION_TLS_CA"):
        ClientSecurity(tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem")
    missing = LocationSecurity(tls_cert=tmp_path / "no.pem", tls_key=tmp_path / "no-key.pem")
    with pytest.raises(SettingsInvalid, match="TESSERA_LOCATION_TLS_KEY: cannot read"):
        LocationServer(CodeSource(module="grpc_runs"), port=0, security=missing)


# -- tessera codeloc -----------------------------------------------------------------------------


def test_codeloc_reads_the_secret_and_tls_from_its_environment(
    codeloc_process: Callable[..., CodelocProcess], certs: Certificates
) -> None:
    env = {
        "TESSERA_LOCATION_SECRET": SECRET,
        "TESSERA_LOCATION_TLS_CERT": str(certs.location_cert),
        "TESSERA_LOCATION_TLS_KEY": str(certs.location_key),
    }
    process = codeloc_process("-m", "grpc_runs", "-d", str(_resources()), env=env)
    address = process.address
    tls = ClientSecurity(tls_ca=certs.ca)
    with CodeLocationClient(address, security=tls) as client, pytest.raises(CredentialsRejected):
        client.info()
    both = ClientSecurity(secret=SECRET, tls_ca=certs.ca)
    with CodeLocationClient(address, security=both) as client:
        assert client.wait_until_loaded(30).name == "grpc_runs"
    code, stderr = process.stop(signal.SIGTERM)
    assert code == 0
    assert "without credentials" not in stderr


def test_codeloc_without_a_secret_beyond_loopback_warns_loudly(
    codeloc_process: Callable[..., CodelocProcess],
) -> None:
    process = codeloc_process(
        "-m", "grpc_runs", "-d", str(_resources()), "--host", "0.0.0.0", env={}
    )
    with CodeLocationClient(f"127.0.0.1:{process.address.rsplit(':', 1)[1]}") as client:
        assert client.wait_until_loaded(30).name == "grpc_runs"  # served, as before
    _, stderr = process.stop()
    assert "WITHOUT credentials" in stderr
    assert "anyone who reaches the port can launch runs" in stderr


def test_codeloc_without_a_secret_on_loopback_still_warns(
    codeloc_process: Callable[..., CodelocProcess],
) -> None:
    process = codeloc_process("-m", "grpc_runs", "-d", str(_resources()))
    _, stderr = process.stop()
    assert "accepts calls without credentials" in stderr


def test_codeloc_with_an_unreadable_certificate_says_which(tmp_path: Path) -> None:
    env = {
        "TESSERA_LOCATION_TLS_CERT": str(tmp_path / "missing.pem"),
        "TESSERA_LOCATION_TLS_KEY": str(tmp_path / "missing-key.pem"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("tessera")), "codeloc", "-m", "grpc_runs"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "TESSERA_LOCATION_TLS_KEY: cannot read" in done.stderr


def _resources() -> Path:
    return Path(__file__).resolve().parents[2] / "resources"
