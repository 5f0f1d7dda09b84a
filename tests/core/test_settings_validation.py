"""Settings check themselves at load; times are the co-op's whatever the server's zone is."""

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from backend.core import clock
from backend.core.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("values", "named"), [
    ({"otp_channel": "smtp"}, "otp_channel"),
    ({"clearing_gateway": "swift"}, "clearing_gateway"),
    ({"refund_fee_on_return": "quizás"}, "refund_fee_on_return"),
    ({"refund_fee_on_return": "2"}, "refund_fee_on_return"),
    ({"max_failed_logins": "0"}, "max_failed_logins"),
    ({"otp_max_tries": "-1"}, "otp_max_tries"),
    ({"session_idle_seconds": "cinco"}, "session_idle_seconds"),
    ({"sms_timeout_seconds": "0"}, "sms_timeout_seconds"),
    ({"timezone": "Marte/Olympus"}, "timezone"),
    ({"otp_channel": "http"}, "sms_gateway_url"),
    ({"clearing_gateway": "http"}, "clearing_url"),
    ({"clearing_max_attempts": "0"}, "clearing_max_attempts"),
    ({"sms_timeout_seconds": "nan"}, "sms_timeout_seconds"),  # NaN compares false with both ends of a range
    ({"services_timeout_seconds": float("nan")}, "services_timeout_seconds"),  # as TOML's «nan» gives it
    ({"clearing_timeout_seconds": "-NaN"}, "clearing_timeout_seconds"),
])
def test_bad_values_are_refused_naming_the_key(values, named):
    with pytest.raises(SettingsError) as err:
        Settings().with_overrides(values)
    assert named in str(err.value)


def test_the_coops_ruc_is_left_unset_or_checked():
    """No co-op's RUC is invented here: unset by default; once set, a mistyped one is refused in Spanish, never
    printed on members' papers."""
    assert Settings().coop_ruc == ""
    for wrong in ("1793236404001", "179323640500", "17932364O5001", "1793236405001 ", "１793236405001"):
        with pytest.raises(SettingsError, match="coop_ruc: .* no es un RUC válido") as err:
            Settings().with_overrides({"coop_ruc": wrong})
        assert "13 dígitos" in str(err.value)
    assert Settings().with_overrides({"coop_ruc": "1793236405001"}).coop_ruc == "1793236405001"  # fictitious


def test_wrong_types_in_code_are_refused_too():
    with pytest.raises(SettingsError, match="scrypt_log_n"):
        Settings(scrypt_log_n="17")  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="refund_fee_on_return"):
        Settings(refund_fee_on_return=1)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="sms_timeout_seconds"):
        Settings(sms_timeout_seconds=float("nan"))


def test_good_values_are_coerced():
    s = Settings().with_overrides({"refund_fee_on_return": "no", "otp_channel": "http", "sms_gateway_url": "http://x",
                                   "sms_timeout_seconds": "2.5", "session_idle_seconds": 120, "timezone": "UTC"})
    assert (s.refund_fee_on_return, s.otp_channel, s.sms_timeout_seconds, s.session_idle_seconds) == \
        (False, "http", 2.5, 120)


def test_cli_says_which_key_is_wrong(tmp_path):
    from tests.core.test_database import cli

    out = cli("--set", "otp_channel=fax", "check", "--db", str(tmp_path / "x.sqlite3"))
    assert out.returncode == 2 and "otp_channel" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "x.sqlite3").exists()


SCRIPT = """
import sys
from datetime import datetime, timezone
from backend.service import Backend
from backend.core.settings import Settings
backend = Backend(sys.argv[1], Settings(scrypt_log_n=8, timezone=sys.argv[2]))
backend.ctx.audit_now("prueba", "hora", "ok")
print(backend.audit_log(last=1)[0].at)
print(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
"""


@pytest.mark.parametrize(("zone", "offset"), [("America/Guayaquil", -5), ("UTC", 0)])
def test_times_are_in_the_coops_zone_whatever_the_servers(tmp_path, zone, offset):
    env = {**os.environ, "TZ": "Asia/Tokyo"}  # the server's zone: UTC+9, no daylight saving
    env.pop(clock.CLOCK_ENV)  # the real clock against the real UTC time: this test is about the server's zone
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "coop.sqlite3"), zone],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    recorded, utc = (datetime.strptime(line, "%Y-%m-%d %H:%M:%S") for line in out.stdout.splitlines())
    assert abs(recorded - (utc + timedelta(hours=offset))) < timedelta(minutes=1)


def test_default_timezone_is_ecuador():
    assert Settings().timezone == "America/Guayaquil"


def test_settings_behave_as_the_frozen_dataclass_they_are_typed_as():
    """Settings' __init__, __repr__, __eq__ and __hash__ are written once for any number of fields (start-up time,
    backend/core/settings.py `_policy`), not compiled by `dataclass`: they act as the compiled ones would."""
    import dataclasses

    ref = dataclasses.make_dataclass("Settings", [(f.name, f.type, dataclasses.field(default=f.default))
                                                  for f in dataclasses.fields(Settings)], frozen=True)
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == [f.name for f in dataclasses.fields(ref)] and len(names) > 80
    ours, theirs = Settings(scrypt_log_n=8, coop_ruc="1793236405001"), ref(scrypt_log_n=8, coop_ruc="1793236405001")
    assert repr(ours) == repr(theirs) and repr(Settings()) == repr(ref())
    assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    assert "coop_ruc" in vars(ours) and "timezone" in vars(ours)  # every field on the instance, as dataclass sets them
    assert ours == Settings(scrypt_log_n=8, coop_ruc="1793236405001") and hash(ours) == hash(Settings(**vars(ours)))
    assert ours != Settings() and ours != theirs and hash(Settings()) == hash(ref())
    assert Settings(9, 4) == Settings(scrypt_log_n=9, scrypt_r=4)  # positional, in field order
    for args, kwargs in (((), {"bogus": 1}), ((9,), {"scrypt_log_n": 9}), (range(len(names) + 1), {})):
        with pytest.raises(TypeError) as mine:
            Settings(*args, **kwargs)
        with pytest.raises(TypeError) as compiled:
            ref(*args, **kwargs)
        assert str(mine.value) == str(compiled.value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.scrypt_log_n = 17  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del ours.coop_ruc  # type: ignore[misc]
    assert dataclasses.replace(ours, otp_ttl_seconds=90).otp_ttl_seconds == 90
    with pytest.raises(SettingsError, match="otp_ttl_seconds"):  # __post_init__ checks every way one is built
        dataclasses.replace(ours, otp_ttl_seconds=0)
