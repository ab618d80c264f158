"""Stand-in for pip's get-pip.py bootstrap script, for `ansible-test sanity` on closed networks.

ansible-test downloads get-pip.py from a host this machine cannot reach, then runs it with pip's
install arguments. This does the same job with what Python ships: `ensurepip`, then `pip install`
of the requested versions from the package index pip is configured for. ansible-test drops PIP_CERT
from the environment, so the system CA store is named explicitly where it exists.
"""

from __future__ import annotations

import os
import subprocess
import sys

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def main() -> int:
    env = dict(os.environ)
    env.pop("GET_PIP", None)
    if os.path.exists(CA_BUNDLE):
        env.setdefault("PIP_CERT", CA_BUNDLE)
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], env=env, stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args], env=env)


if __name__ == "__main__":
    sys.exit(main())
