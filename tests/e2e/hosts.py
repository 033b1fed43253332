"""Several "hosts" on one machine, for real: each host is a network namespace of its own (with its own
host name and /etc/hosts, in a mount and UTS namespace of the process started there), joined to the
others by a bridge that itself lives in a namespace of its own, so no address ever appears on the
machine's own interfaces. A client namespace on the same bridge sends the S3 traffic. Cutting a host
off is a real network fault: its link goes down. Everything is removed at the end, also on failure.

Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2: `Hosts.unavailable()` says why not.
"""

import ctypes
import os
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SUBNET = "10.99.0"  # inside the test's own namespaces only
CLONE_NEWNET = 0x40000000


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


class Hosts:
    def __init__(self, tmp_path, names, say=lambda line: None):
        self.names = list(names)
        self.say = say
        self.prefix = f"dc{os.getpid()}"
        self.bridge = f"{self.prefix}-br"
        self.client_ns = f"{self.prefix}-client"
        self.folder = Path(tmp_path)
        self.hosts_file = self.folder / "hosts"
        self.created = []
        self.processes = {}
        self._client = None

    @staticmethod
    def unavailable():
        """Why hosts cannot be made here (None when they can)."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        if shutil.which("ip") is None or shutil.which("unshare") is None:
            return "iproute2 (ip) and util-linux (unshare) are needed"
        probe = f"dcprobe{os.getpid()}"
        made = ip("netns", "add", probe, check=False)
        if made.returncode != 0:
            return f"cannot create a network namespace: {made.stderr.strip()}"
        ip("netns", "del", probe, check=False)
        return None

    def address(self, name):
        return f"{SUBNET}.{10 + self.names.index(name) + 1}" if name != "client" else f"{SUBNET}.2"

    def namespace(self, name):
        return self.client_ns if name == "client" else f"{self.prefix}-{name}"

    def veth(self, name):
        return f"v{self.names.index(name) + 1}" if name != "client" else "vc"

    def __enter__(self):
        Hosts.remove_abandoned()
        try:
            self._make()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _make(self):
        ip("netns", "add", self.bridge)
        self.created.append(self.bridge)
        ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        ip("-n", self.bridge, "link", "set", "br0", "up")
        lines = ["127.0.0.1 localhost"]
        for name in self.names + ["client"]:
            ns = self.namespace(name)
            ip("netns", "add", ns)
            self.created.append(ns)
            # Both ends are made inside the bridge's namespace, one then moved into the host's: no end
            # ever exists in the machine's own namespace.
            ip("-n", self.bridge, "link", "add", self.veth(name), "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", self.bridge, "link", "set", self.veth(name), "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{self.address(name)}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            lines.append(f"{self.address(name)} {name}")
        self.hosts_file.write_text("\n".join(lines) + "\n")
        self.say(f"hosts {', '.join(f'{n} ({self.address(n)})' for n in self.names)} and a client, "
                 f"on a bridge in namespace {self.bridge}")

    def _on(self, name, argv, binds=(), proc=None):
        """`argv` as run on host `name`: its network, host name and /etc/hosts; `binds`: (source,
        target) paths mounted for it alone; `proc`: where to mount a /proc, for a chrooted program.
        Exec all the way down: the process is argv itself."""
        mounts = [f'mount --bind "{self.hosts_file}" /etc/hosts']
        mounts += [f'mount --bind "{source}" "{target}"' for source, target in binds]
        if proc:
            mounts.append(f'mount -t proc proc "{proc}"')
        script = " && ".join(mounts + [f"hostname {name}", 'exec "$@"'])
        return ["ip", "netns", "exec", self.namespace(name), "unshare", "--uts", "--mount", "--propagation", "private",
                "sh", "-c", script, "sh", *map(str, argv)]

    def run(self, name, argv, timeout=60, env=None):
        """Runs `argv` on host `name` to its end: its exit status and output."""
        return subprocess.run(self._on(name, argv), capture_output=True, text=True, timeout=timeout, env=env)

    def start(self, name, argv, binds=(), log=None, proc=None, env=None):
        """Starts `argv` on host `name` (see `_on`); its pid is the one to signal."""
        out = open(log, "ab") if log else subprocess.DEVNULL
        p = subprocess.Popen(self._on(name, argv, binds, proc), stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, env=env)
        if log:
            out.close()
        self.processes[p.pid] = p
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            p.send_signal(sig)
        code = p.wait(timeout=timeout)
        self.processes.pop(p.pid, None)
        return code

    def link(self, name, up):
        ip("-n", self.bridge, "link", "set", self.veth(name), "up" if up else "down")
        self.say(f"{name}: link {'up' if up else 'down'}")

    def client(self, fn, *args):
        """Runs `fn(*args)` on a thread inside the client's network namespace (sockets it opens are
        the client host's), and returns what it returns."""
        if self._client is None:
            libc = ctypes.CDLL(None, use_errno=True)
            path = f"/run/netns/{self.client_ns}"

            def enter():
                fd = os.open(path, os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns into the client namespace")
                finally:
                    os.close(fd)

            self._client = ThreadPoolExecutor(max_workers=1, initializer=enter)
        return self._client.submit(fn, *args).result()

    def close(self):
        """Ends every process started here (by pid) and removes every namespace, whatever fails on the
        way; a namespace that cannot be removed is named in the error."""
        try:
            for p in list(self.processes.values()):
                if p.poll() is None:
                    p.kill()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass  # unkillable (uninterruptible sleep): its namespace still goes below
            self.processes.clear()
            if self._client is not None:
                self._client.shutdown()
                self._client = None
        finally:
            left = []
            for ns in reversed(self.created):
                try:
                    if ip("netns", "del", ns, check=False).returncode != 0:
                        left.append(ns)
                except subprocess.TimeoutExpired:
                    left.append(ns)
            self.created.clear()
            if left:
                raise RuntimeError(f"network namespaces left behind: {', '.join(left)} (ip netns del NAME)")

    @staticmethod
    def remove_abandoned():
        """Namespaces a run that was killed left (named dc<pid>-..., that pid gone)."""
        for line in ip("netns", "list").stdout.splitlines():
            name = line.split()[0] if line.strip() else ""
            head = name.split("-", 1)[0]
            if name.startswith("dc") and "-" in name and head[2:].isdigit() and not Path(f"/proc/{head[2:]}").exists():
                ip("netns", "del", name, check=False)
