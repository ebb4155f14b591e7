"""A throwaway PostgreSQL cluster for the tests: Debian's `postgresql` package (`make system-deps`).

`throwaway_cluster()` runs initdb into a fresh temporary directory, starts the server with
pg_ctl on a unix socket in that directory only (no TCP port), creates one database, yields its
URL (`postgresql://USER:PASSWORD@/DB?host=SOCKET_DIR`), and at the end stops the server and
removes the directory. Clients authenticate with a random password (scram-sha-256), so a test
can check that the password never shows. PostgreSQL refuses to run as root: as root, the
cluster belongs to the `postgres` user the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")  # Debian keeps initdb and pg_ctl under <version>/bin, off PATH


def pg_bin(program: str) -> Path:
    """The newest installed version's `program` (initdb, pg_ctl, createdb)."""
    found = sorted(PG_ROOT.glob(f"*/bin/{program}"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if not found:
        raise FileNotFoundError(f"{PG_ROOT}/*/bin/{program} is missing: run `make system-deps` (Debian's postgresql)")
    return found[-1]


def _as_owner(owner: pwd.struct_passwd | None) -> dict:
    """Popen arguments that run a program as the cluster's owner (only needed when we are root)."""
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "env": {**os.environ, "HOME": owner.pw_dir}}


@contextmanager
def throwaway_cluster(database: str = "labelstudio", user: str = "stancekit") -> Iterator[str]:
    """A running PostgreSQL with one database; yields its URL. Stopped and removed on exit."""
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="stancekit-pg-"))  # short: a socket path must stay under 108 bytes
    password = secrets.token_hex(16)
    data, log = root / "data", root / "server.log"
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    os.chmod(pwfile, 0o600)
    run = {"check": True, "capture_output": True, **_as_owner(owner)}
    started = False
    try:
        subprocess.run([pg_bin("initdb"), "-D", data, "-U", user, "--pwfile", pwfile, "--auth=scram-sha-256",
                        "-E", "UTF8", "--locale=C.UTF-8"], **run)
        pwfile.unlink()
        options = f"-c listen_addresses='' -c unix_socket_directories='{root}' -c fsync=off"
        subprocess.run([pg_bin("pg_ctl"), "-D", data, "-l", log, "-o", options, "-w", "start"], **run)
        started = True
        env = {**run.pop("env", os.environ), "PGPASSWORD": password}
        subprocess.run([pg_bin("createdb"), "-h", root, "-U", user, database], **run, env=env)
        yield f"postgresql://{user}:{password}@/{database}?host={root}"
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"PostgreSQL: {Path(exc.cmd[0]).name} failed: {exc.stderr.decode(errors='replace')[-500:]}"
                           f"{log.read_text(errors='replace')[-500:] if log.exists() else ''}") from None
    finally:
        if started:
            subprocess.run([pg_bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"], capture_output=True,
                           **_as_owner(owner))
        shutil.rmtree(root, ignore_errors=True)
