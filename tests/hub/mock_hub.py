#!/usr/bin/python3
"""A mock Hugging Face Hub for QueryLens's tests: the endpoints and headers the Hub client uses,
serving the golden fixtures as repositories, with faults on demand.

Two listeners on 127.0.0.1, ports chosen by the OS:
  the Hub   GET  /api/models/{repo}/revision/{rev}          -> {"sha": commit}
            GET  /api/models/{repo}/tree/{rev}?recursive=1  -> [{type, path, size, oid, lfs?}], Link pagination
            HEAD/GET /{repo}/resolve/{rev}/{path}           -> small files: 200 with ETag = git sha1;
                                                                LFS files: 302 to the CDN, X-Linked-Etag = sha256
  the CDN   GET  /{sha256}?file=...&token=...               -> the bytes, with Range support
It prints "HUB <port> CDN <port>" on stdout, then reads commands from stdin, one JSON object a
line, and answers each with one line:
  {"cmd": "fault", "name": NAME, "path": GLOB, "times": N, ...}  -> "ok"  (see FAULTS)
  {"cmd": "stats"}   -> {"bytes": {"repo/path": n}, "requests": [...], "cdn_authorization": n}
  {"cmd": "reset"}   -> "ok"   (faults and counters cleared)
It exits when stdin closes, so it never outlives the test that started it.

Usage: mock_hub.py FIXTURES_DIR [--big-file PATH]
"""

import fnmatch
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Each fault fires for requests whose repository path matches "path" (fnmatch), "times" times
# (default 1), then is spent.
FAULTS = {
    "cut",            # CDN/Hub GET body: send "bytes" bytes, then close the connection
    "ignore-range",   # answer a Range request with 200 and the whole file
    "range-416",      # answer a Range request that starts past 0 with 416
    "expire",         # CDN: send "bytes" bytes, cut, and from then on refuse that signed URL with 403
    "status-429",     # 429 with Retry-After: "retry_after" (default 1)
    "status-503",     # 503
    "corrupt",        # flip one byte of the body
    "stall",          # send "bytes" bytes, then nothing for "seconds", then close
    "paginate",       # tree listings in pages of "page_size" entries (Link: rel="next")
    "head-404",       # HEAD of a listed file: 404 EntryNotFound
    "huge-headers",   # HEAD with 100 kB of headers
    "hostile-tree",   # the tree listing contains "../escape.json"
}

PRIVATE_TOKEN = "private-token"
GATED_TOKEN = "granted-token"

STATE_LOCK = threading.Lock()
ACTIVE_FAULTS = []
BYTES_SERVED = {}
REQUESTS = []
CDN_AUTHORIZATION = [0]
EXPIRED_TOKENS = set()


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def deterministic_bytes(size, seed):
    generator = random.Random(seed)
    return bytes(generator.getrandbits(8) for _ in range(size))


class RepoFile:
    def __init__(self, path, data=None, source=None, lfs=None):
        self.path = path
        self.data = data
        self.source = source
        if source is not None:
            self.size = os.path.getsize(source)
            self.sha256 = sha256_of_file(source)
            self.oid = hashlib.sha1(self.sha256.encode()).hexdigest()  # a git pointer's id stands in
            self.lfs = True
        else:
            self.size = len(data)
            self.sha256 = hashlib.sha256(data).hexdigest()
            self.lfs = lfs if lfs is not None else (path.endswith((".safetensors", ".bin", ".model", ".h5", ".msgpack"))
                                                    or self.size > 100_000)
            # The git object of an LFS file is its pointer; of a small file, its content.
            self.oid = git_blob_sha1(self.pointer() if self.lfs else data)

    def pointer(self):
        return ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (self.sha256, self.size)).encode()

    def etag(self):
        return self.sha256 if self.lfs else self.oid

    def read(self, start, end):
        if self.data is not None:
            return self.data[start:end]
        with open(self.source, "rb") as f:
            f.seek(start)
            return f.read(end - start)


def sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 22)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


class Repo:
    def __init__(self, repo_id, files, access="public", alias_of=None):
        self.id = repo_id
        self.files = {f.path: f for f in files}
        self.access = access
        self.alias_of = alias_of
        self.commit = hashlib.sha1("".join(sorted(f.path + f.oid for f in files)).encode()).hexdigest()
        self.revisions = {"main": self.commit, "release/v1": self.commit, self.commit: self.commit}


def read_fixture(fixtures, name, path):
    with open(os.path.join(fixtures, name, path), "rb") as f:
        return f.read()


def checkpoint_files(fixtures, name):
    folder = os.path.join(fixtures, name)
    files = []
    for entry in sorted(os.listdir(folder)):
        if entry.startswith(("golden", "summary")):
            continue  # the goldens are the tests', not the model's
        files.append(RepoFile(entry, read_fixture(fixtures, name, entry)))
    files.append(RepoFile("README.md", b"# %s\nA tiny BLIP-2 for tests.\n" % name.encode()))
    files.append(RepoFile(".gitattributes", b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"))
    return files


def split_safetensors(data):
    """model.safetensors -> two shards and an index, as save_pretrained(max_shard_size=...) writes them."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    names = sorted(k for k in header if k != "__metadata__")
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    shards, weight_map = [], {}
    for index, half in enumerate(halves):
        shard_name = "model-%05d-of-00002.safetensors" % (index + 1)
        new_header, parts, offset = {"__metadata__": {"format": "pt"}}, [], 0
        for name in half:
            begin, end = header[name]["data_offsets"]
            parts.append(body[begin:end])
            new_header[name] = {"dtype": header[name]["dtype"], "shape": header[name]["shape"],
                                "data_offsets": [offset, offset + end - begin]}
            offset += end - begin
            weight_map[name] = shard_name
        encoded = json.dumps(new_header, separators=(",", ":")).encode()
        encoded += b" " * ((8 - len(encoded) % 8) % 8)
        shards.append(RepoFile(shard_name, struct.pack("<Q", len(encoded)) + encoded + b"".join(parts)))
    index = {"metadata": {"total_size": len(body)}, "weight_map": dict(sorted(weight_map.items()))}
    shards.append(RepoFile("model.safetensors.index.json", json.dumps(index, indent=2).encode()))
    return shards


def build_repos(fixtures, big_file):
    repos = {}

    def add(repo):
        repos[repo.id] = repo

    opt = checkpoint_files(fixtures, "tiny-opt")
    add(Repo("test/tiny-opt", opt + [RepoFile("pytorch_model.bin", deterministic_bytes(150_000, 1))]))
    add(Repo("test/tiny-t5", checkpoint_files(fixtures, "tiny-t5") + [RepoFile("tf_model.h5", deterministic_bytes(20_000, 2))]))
    add(Repo("test/tiny-itm", checkpoint_files(fixtures, "tiny-itm") + [RepoFile("flax_model.msgpack", deterministic_bytes(20_000, 3))]))
    sharded = [f for f in opt if f.path != "model.safetensors"]
    sharded += split_safetensors(read_fixture(fixtures, "tiny-opt", "model.safetensors"))
    sharded += [RepoFile("extra.safetensors", deterministic_bytes(4_000, 4)),
                RepoFile("pytorch_model-00001-of-00002.bin", deterministic_bytes(30_000, 5)),
                RepoFile("onnx/model.onnx", deterministic_bytes(5_000, 6))]
    add(Repo("test/tiny-opt-sharded", sharded))
    add(Repo("test/gated-opt", opt, access="gated"))
    add(Repo("test/private-opt", opt, access="private"))
    add(Repo("test/not-blip2", [RepoFile("config.json", b'{"model_type": "bert"}'),
                                RepoFile("model.safetensors", deterministic_bytes(1_000, 7))]))
    # Two of the catalogue's names, so that the window's catalogue has sizes to show.
    add(Repo("Salesforce/blip2-opt-2.7b", opt))
    add(Repo("Salesforce/blip2-flan-t5-xl", checkpoint_files(fixtures, "tiny-t5")))
    old = Repo("test/old-name-opt", opt, alias_of="test/tiny-opt")
    add(old)
    if big_file:
        add(Repo("test/big", [RepoFile("config.json", read_fixture(fixtures, "tiny-opt", "config.json")),
                              RepoFile("model.safetensors", source=big_file)]))
    return repos


def take_fault(name, repo_path):
    """The first active fault called `name` that matches, spending one of its uses."""
    with STATE_LOCK:
        for fault in ACTIVE_FAULTS:
            if fault["name"] == name and fault["times"] > 0 and fnmatch.fnmatch(repo_path, fault.get("path", "*")):
                fault["times"] -= 1
                return dict(fault)
    return None


def peek_fault(name, repo_path):
    with STATE_LOCK:
        for fault in ACTIVE_FAULTS:
            if fault["name"] == name and fault["times"] > 0 and fnmatch.fnmatch(repo_path, fault.get("path", "*")):
                return dict(fault)
    return None


def count_bytes(key, n):
    with STATE_LOCK:
        BYTES_SERVED[key] = BYTES_SERVED.get(key, 0) + n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MockHub/1"

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client went away (a cancelled or cut transfer): nothing to serve

    # -- helpers -------------------------------------------------------------------------------
    def record(self, status):
        with STATE_LOCK:
            REQUESTS.append({"server": self.server.role, "method": self.command, "path": self.path,
                             "range": self.headers.get("Range"), "status": status, "time": time.time(),
                             "authorization": self.headers.get("Authorization") is not None})

    def reply(self, status, body=b"", headers=None, content_type="application/json"):
        self.record(status)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code=None, message=None, extra=None):
        headers = dict(extra or {})
        if code:
            headers["X-Error-Code"] = code
        if message:
            headers["X-Error-Message"] = message
        self.reply(status, json.dumps({"error": message or code or "error"}).encode(), headers)

    def token(self):
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def check_access(self, repo):
        token = self.token()
        if repo.access == "private" and token != PRIVATE_TOKEN:
            self.error(401)  # bare: missing or private
            return False
        if repo.access == "gated" and token != GATED_TOKEN:
            if token is None:
                self.error(401, "GatedRepo", "Access to model %s is restricted. You must be authenticated." % repo.id)
            else:
                self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized list." % repo.id)
            return False
        return True

    def send_file_bytes(self, file, key, status, start, end, headers):
        """Sends file[start:end] with the active body faults applied; counts what was sent."""
        repo_path = key
        cut = take_fault("cut", repo_path)
        expire = take_fault("expire", repo_path) if self.server.role == "cdn" else None
        stall = take_fault("stall", repo_path)
        corrupt = take_fault("corrupt", repo_path)
        self.record(status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = end - start
        for fault in (cut, expire, stall):
            if fault:
                limit = min(limit, int(fault.get("bytes", 0)))
        if expire:
            with STATE_LOCK:
                EXPIRED_TOKENS.add(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("token", [""])[0])
        sent = 0
        try:
            if corrupt is None and file.source is not None:
                sent = self.sendfile(file.source, start, limit)
            else:
                data = file.read(start, start + limit)
                if corrupt and data:
                    position = len(data) // 2
                    data = data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]
                self.wfile.write(data)
                sent = len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        count_bytes(key, sent)
        if stall:
            time.sleep(float(stall.get("seconds", 3)))
        if limit < end - start:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def sendfile(self, path, offset, count):
        sent = 0
        with open(path, "rb") as f:
            while sent < count:
                n = os.sendfile(self.connection.fileno(), f.fileno(), offset + sent, min(count - sent, 1 << 24))
                if n == 0:
                    break
                sent += n
        return sent

    def status_fault(self, key):
        """429 (with Retry-After) or 503 for a GET of the file's bytes, when asked for."""
        for name in ("status-429", "status-503"):
            fault = take_fault(name, key)
            if fault:
                extra = {"Retry-After": str(fault.get("retry_after", 1))} if name == "status-429" else {}
                self.error(int(name[-3:]), extra=extra)
                return True
        return False

    def serve_range(self, file, key, extra_headers):
        """A GET of a whole file or of a Range of it."""
        size = file.size
        range_header = self.headers.get("Range")
        if range_header and take_fault("ignore-range", key) is None:
            spec = range_header.replace("bytes=", "")
            first, _, last = spec.partition("-")
            start = int(first)
            end = min(size, int(last) + 1) if last else size
            if start >= size or (start > 0 and take_fault("range-416", key)):
                self.error(416, extra=dict(extra_headers, **{"Content-Range": "bytes */%d" % size}))
                return
            headers = dict(extra_headers)
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end - 1, size)
            self.send_file_bytes(file, key, 206, start, end, headers)
            return
        self.send_file_bytes(file, key, 200, 0, size, extra_headers)

    # -- the two servers -------------------------------------------------------------------------
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        try:
            if self.server.role == "cdn":
                self.cdn_get()
            else:
                self.hub_get()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def cdn_get(self):
        if self.headers.get("Authorization"):
            with STATE_LOCK:
                CDN_AUTHORIZATION[0] += 1
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        token = query.get("token", [""])[0]
        key = query.get("file", [""])[0]
        repo_id, _, path = key.rpartition(":")
        repo = self.server.repos.get(repo_id)
        file = repo.files.get(path) if repo else None
        if file is None or file.sha256 != url.path.lstrip("/"):
            self.error(404)
            return
        with STATE_LOCK:
            expired = token in EXPIRED_TOKENS
        if expired:
            self.error(403, message="Request has expired")
            return
        if self.status_fault(repo_id + "/" + path):
            return
        self.serve_range(file, repo_id + "/" + path, {"ETag": '"%s"' % file.sha256})

    def hub_get(self):
        url = urllib.parse.urlparse(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        query = urllib.parse.parse_qs(url.query)
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo_id = parts[2] + "/" + parts[3]
            repo = self.server.repos.get(repo_id)
            if repo is None:
                self.error(404, "RepoNotFound", "Repository not found")
                return
            if repo.alias_of:  # a renamed repository: relative redirect
                self.record(307)
                self.send_response(307)
                self.send_header("Location", url.path.replace(repo_id, repo.alias_of, 1) + ("?" + url.query if url.query else ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if not self.check_access(repo):
                return
            kind, revision = parts[4], "/".join(parts[5:])
            commit = repo.revisions.get(revision)
            if commit is None:
                self.error(404, "RevisionNotFound", "Invalid rev id: %s" % revision)
                return
            if kind == "revision":
                body = {"id": repo.id, "sha": commit, "siblings": [{"rfilename": p} for p in sorted(repo.files)]}
                self.reply(200, json.dumps(body).encode())
                return
            if kind == "tree":
                self.tree(repo, commit, query, url.path)
                return
            self.error(404)
            return
        if len(parts) >= 5 and parts[2] == "resolve":
            self.resolve(parts)
            return
        self.error(404)

    def tree(self, repo, commit, query, path):
        entries = []
        folders = sorted({p.rsplit("/", 1)[0] for p in repo.files if "/" in p})
        for folder in folders:
            entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
        for name in sorted(repo.files):
            f = repo.files[name]
            entry = {"type": "file", "oid": f.oid, "size": f.size, "path": name}
            if f.lfs:
                entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": len(f.pointer())}
            entries.append(entry)
        if peek_fault("hostile-tree", repo.id):
            entries.append({"type": "file", "oid": "1" * 40, "size": 10, "path": "../escape.json"})
        paginate = peek_fault("paginate", repo.id)
        headers = {}
        if paginate:
            size = int(paginate.get("page_size", 2))
            cursor = int(query.get("cursor", ["0"])[0])
            if cursor + size < len(entries):
                headers["Link"] = '<%s?recursive=true&cursor=%d>; rel="next"' % (path, cursor + size)
            entries = entries[cursor:cursor + size]
        self.reply(200, json.dumps(entries).encode(), headers)

    def resolve(self, parts):
        repo_id = parts[0] + "/" + parts[1]
        repo = self.server.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found")
            return
        if repo.alias_of:
            quoted = "/".join(urllib.parse.quote(p, safe="") for p in [repo.alias_of] + parts[2:])
            self.record(307)
            self.send_response(307)
            self.send_header("Location", "/" + quoted.replace("%2F", "/", 1))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self.check_access(repo):
            return
        commit = repo.revisions.get(parts[3])
        if commit is None:
            self.error(404, "RevisionNotFound", "Invalid rev id")
            return
        path = "/".join(parts[4:])
        key = repo_id + "/" + path
        file = repo.files.get(path)
        common = {"X-Repo-Commit": commit}
        if file is None or (self.command == "HEAD" and take_fault("head-404", key)):
            self.error(404, "EntryNotFound", "Entry not found", common)
            return
        if self.command == "HEAD" and take_fault("huge-headers", key):
            common.update({"X-Padding-%d" % i: "x" * 1000 for i in range(100)})
        if file.lfs:
            token = "%016x" % random.getrandbits(64)
            location = "http://127.0.0.1:%d/%s?file=%s&token=%s" % (
                self.server.cdn_port, file.sha256, urllib.parse.quote(repo_id + ":" + path, safe=""), token)
            body = b"Found. Redirecting to CDN"
            self.record(302)
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("X-Repo-Commit", commit)
            self.send_header("X-Linked-Etag", '"%s"' % file.sha256)
            self.send_header("X-Linked-Size", str(file.size))
            self.send_header("ETag", '"%s"' % file.oid)
            for name, value in common.items():
                if name.startswith("X-Padding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        common["ETag"] = '"%s"' % file.oid
        if self.command == "GET" and self.status_fault(key):
            return
        self.serve_range(file, key, common)


def serve(role, repos):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.role = role
    server.repos = repos
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    fixtures = sys.argv[1]
    big_file = sys.argv[sys.argv.index("--big-file") + 1] if "--big-file" in sys.argv else None
    repos = build_repos(fixtures, big_file)
    cdn = serve("cdn", repos)
    hub = serve("hub", repos)
    hub.cdn_port = cdn.server_address[1]
    cdn.cdn_port = cdn.server_address[1]
    sys.stdout.write("HUB %d CDN %d\n" % (hub.server_address[1], cdn.server_address[1]))
    sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            command = json.loads(line)
            kind = command.get("cmd")
            if kind == "fault":
                if command.get("name") not in FAULTS:
                    raise ValueError("unknown fault %r" % command.get("name"))
                command.setdefault("times", 1)
                with STATE_LOCK:
                    ACTIVE_FAULTS.append(command)
                answer = "ok"
            elif kind == "stats":
                with STATE_LOCK:
                    answer = json.dumps({"bytes": BYTES_SERVED, "requests": REQUESTS,
                                         "cdn_authorization": CDN_AUTHORIZATION[0]})
            elif kind == "reset":
                with STATE_LOCK:
                    ACTIVE_FAULTS.clear()
                    BYTES_SERVED.clear()
                    REQUESTS.clear()
                    EXPIRED_TOKENS.clear()
                    CDN_AUTHORIZATION[0] = 0
                answer = "ok"
            else:
                raise ValueError("unknown command %r" % kind)
        except (ValueError, json.JSONDecodeError) as problem:
            answer = json.dumps({"error": str(problem)})
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    os._exit(0)  # stdin closed: the test is gone


if __name__ == "__main__":
    sys.exit(main())
