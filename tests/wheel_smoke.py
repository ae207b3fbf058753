"""Smoke test of an installed turbojwt wheel, run from outside the source tree.

    python wheel_smoke.py

Checks that the import comes from site-packages (not a checkout), that HS256 and RS256
(PEM strings and NativeKey objects, without cryptography's help) round-trip, that
``__version__`` is there and that the wheel's dist-info carries the LICENSE file.
"""

from __future__ import annotations

import importlib.metadata
import sys
import sysconfig
from pathlib import Path

import turbojwt
from turbojwt import _turbojwt

# The RSA 2048 test key of tests/vectors/keys (rsa2048.pkcs8.pem, rsa2048.pub.pem).
RSA_PRIVATE = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCqYsuULKF1J+Pl
hWt/7swzVLVOBxhebGelXXosC7UVa9XJkP2pfo9pRwf4C8kegk2j/XKQpw9XCVef
/op+0zqKOw8pj/IP0/v8CHoBfOaCNhkf16sq6gI2pRMymPLaiqG+eXdjnCoG4byR
iPFkTwRYUhuSre19wJjUfA0lXt66zvXQgQcDLOSYIVaqH7rQ0K3/R0P+NGZhIaVL
b1pmYOGrxqiIScTfKjnaj/sdwhaDzGa+FKZjNjk4D1vp0mCkenqQatnP+D8JvVhq
0v9HIF8AltGkPgP3Ixw9uuwgLQItG8P0k7Y/C9dsd7S1F7XjHg0Y0f28GToNgrnv
JEUo/dAhAgMBAAECggEADNjrXpuZPAcl5F6m9avzmpOSon90oLAIsPvHVG64jiow
ofohtP1Nl85Vj+g8QhA+BaASGqKiIeRa2/3v2EgZ6VDdNTt88MvBkRDcOY7+/DFT
O9GsVCLLcm6IL/U/ledvR+MK88g+FKvs5vCzZOZ0CSsobZWu6zURwQSD4ui69M0P
03N3a1ND9qUrnInYqeVKKrODOf7+p5uyXJViVZ8OjoXReR5F03pcHabGgtiNs4uN
/Yj4SQnRKhZZLlDWZvCzvsJcJAOwPifnufAvRl6Qu8/pAjl1/9t5Q/0Skkl1aXRM
HS7+Ku99TEVnPe19xaClsDTCgmOygHXRsgqTAO9FTQKBgQDV90JJVJPXvovLgbJo
ky+MC0eDCcFw8lH9Ylkcgz342QnVRejRM0cPvKvlHcOm3Go8123YmzMtThCPDS0c
0oo9p6UCZE88zeDE+hqTsg2SBNfn6ZB+JxOwyhXl9q2jJb6k5fn2u3cBmVvgI5ee
0eDeo/IbF5KwKqxlZmwuhOwvVQKBgQDL29H4Ng8cxHU76TSJWnLR3w1BzptXfHpp
cvVKCiSJUyBKooVW21yPm2P4xFLm9MwmrP+q9GzfyiAzY5JHq2PRnSupSSzlWhHC
mHSPw/cpXfyqX39xet4tQdVoNfjwcAwJyaNPP0AwzYH0gaT9srzIdaeBdy5Qyd0J
Ba06hRelnQKBgEYeSo3Hds+79QoTDclxeqJ1S9EokEkYUEAuS6+pXtS/I5bN2zc7
i60fkmF6OJTlJLedjbTvX30YWRrYIZGReZYs60l2X/U4LtG+eJkwP3w7tBmfFCgT
XEOSZky/YzXU974IU7tEwgI3JMG2SEjW1M+BgKTaO8sZoPd18jvoeZIlAoGAbt1Q
FjWICHQK8ZcE3EHVOa+dLRGoR27Jv7kmDqrvbcNIR26VJ0RK1UqDltFl6HZu5AWn
URh2cUoiMvBOqC1cLq3UBc9m3CAckoCIu3quWs/jTeB7lYJle6VW4sKfbFrzIQuI
hdt3FFNe/lLXIKVop3fcrbrb9FGjpHly2OVyk70CgYEAqewyeVoE80ypNWMRvQI5
xMivUCcn1p35E+CW132AfDBpMLaYJPtafFfQnkx8FT5ohXURcNRUyc3zlVOka74G
8POww/kTSqn5e2xyljT9IPicp2LluLYdgUHJiYHdE7DVI2W2GtVrEy44W6RpoGJ3
h0lnNeU7wjn7x6OiSRvhKmg=
-----END PRIVATE KEY-----
"""
RSA_PUBLIC = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqmLLlCyhdSfj5YVrf+7M
M1S1TgcYXmxnpV16LAu1FWvVyZD9qX6PaUcH+AvJHoJNo/1ykKcPVwlXn/6KftM6
ijsPKY/yD9P7/Ah6AXzmgjYZH9erKuoCNqUTMpjy2oqhvnl3Y5wqBuG8kYjxZE8E
WFIbkq3tfcCY1HwNJV7eus710IEHAyzkmCFWqh+60NCt/0dD/jRmYSGlS29aZmDh
q8aoiEnE3yo52o/7HcIWg8xmvhSmYzY5OA9b6dJgpHp6kGrZz/g/Cb1YatL/RyBf
AJbRpD4D9yMcPbrsIC0CLRvD9JO2PwvXbHe0tRe14x4NGNH9vBk6DYK57yRFKP3Q
IQIDAQAB
-----END PUBLIC KEY-----
"""


def main() -> None:
    location = Path(turbojwt.__file__).resolve()
    site = Path(sysconfig.get_paths()["platlib"]).resolve()
    assert site in location.parents, f"turbojwt imported from {location}, not from {site}"
    assert not (Path.cwd() / "python" / "turbojwt").exists(), "run this outside the checkout"

    assert turbojwt.__version__ == "2.15.1", turbojwt.__version__

    secret = "wheel-smoke-secret-0123456789-0123456789"
    token = turbojwt.encode({"sub": "smoke", "n": 1}, secret, algorithm="HS256")
    assert turbojwt.decode(token, secret, algorithms=["HS256"]) == {"sub": "smoke", "n": 1}

    token = turbojwt.encode({"sub": "rsa"}, RSA_PRIVATE, algorithm="RS256")
    assert turbojwt.decode(token, RSA_PUBLIC, algorithms=["RS256"]) == {"sub": "rsa"}
    private = _turbojwt.NativeKey.from_pem(RSA_PRIVATE.encode())
    public = _turbojwt.NativeKey.from_pem(RSA_PUBLIC.encode())
    assert private.is_private and not public.is_private and public.key_size == 2048
    token = turbojwt.encode({"sub": "native"}, private, algorithm="RS256")
    complete = turbojwt.decode_complete(token, public, algorithms=["RS256"])
    assert complete["header"]["alg"] == "RS256" and complete["payload"] == {"sub": "native"}
    assert turbojwt.decode(token, RSA_PUBLIC, algorithms=["RS256"]) == {"sub": "native"}

    dist = importlib.metadata.distribution("turbojwt")
    files = [str(path) for path in dist.files or []]
    licenses = [f for f in files if ".dist-info/" in f and f.rsplit("/", 1)[-1] == "LICENSE"]
    assert licenses, f"no LICENSE in the wheel's dist-info: {files}"
    license_text = Path(str(dist.locate_file(licenses[0]))).read_text()
    assert "MIT License" in license_text or "Permission is hereby granted" in license_text
    assert dist.metadata["License-Expression"] == "MIT", dist.metadata["License-Expression"]

    gil = "enabled" if getattr(sys, "_is_gil_enabled", lambda: True)() else "disabled"
    print(
        f"wheel smoke test passed: turbojwt {dist.version} ({turbojwt.__version__} API) "
        f"on {sys.version.split()[0]}, GIL {gil}, from {location.parent}"
    )


if __name__ == "__main__":
    main()
