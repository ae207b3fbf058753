"""Fixed keys for `python -m turbojwt bench`: published test keys that protect nothing.

Fixed rather than generated so that the asymmetric cases run for turbojwt without the
`cryptography` package (turbojwt does not need it), and every run times the same keys.
They are the keys of tests/vectors/keys/ (RSA 2048, P-256, Ed25519).
"""

from __future__ import annotations

PRIVATE_PEM = {
    "RS256": """\
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
""",
    "ES256": """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8Fa4uwDJnz5LcCOe
9CAinbJs9Paa/g73ETcPmYvaGGShRANCAAQhqmqum0IuRv12FB+14FvxMqg3E5Q/
AnDd3dUHqCZxTK0HRzQPSfwTVz+M3H/n+bC+7HhprKZwEhuvI5ICkxUs
-----END PRIVATE KEY-----
""",
    "EdDSA": """\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINIryflVyjpt0VoyTVXNkEkjyw11qEeW3K+6Uy/uCoc9
-----END PRIVATE KEY-----
""",
}

PUBLIC_PEM = {
    "RS256": """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqmLLlCyhdSfj5YVrf+7M
M1S1TgcYXmxnpV16LAu1FWvVyZD9qX6PaUcH+AvJHoJNo/1ykKcPVwlXn/6KftM6
ijsPKY/yD9P7/Ah6AXzmgjYZH9erKuoCNqUTMpjy2oqhvnl3Y5wqBuG8kYjxZE8E
WFIbkq3tfcCY1HwNJV7eus710IEHAyzkmCFWqh+60NCt/0dD/jRmYSGlS29aZmDh
q8aoiEnE3yo52o/7HcIWg8xmvhSmYzY5OA9b6dJgpHp6kGrZz/g/Cb1YatL/RyBf
AJbRpD4D9yMcPbrsIC0CLRvD9JO2PwvXbHe0tRe14x4NGNH9vBk6DYK57yRFKP3Q
IQIDAQAB
-----END PUBLIC KEY-----
""",
    "ES256": """\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIapqrptCLkb9dhQfteBb8TKoNxOU
PwJw3d3VB6gmcUytB0c0D0n8E1c/jNx/5/mwvux4aaymcBIbryOSApMVLA==
-----END PUBLIC KEY-----
""",
    "EdDSA": """\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAAzEQvhTnCBRkDNf8Pb5U6/aUQO5O2nknhBBrbvKFf1M=
-----END PUBLIC KEY-----
""",
}
