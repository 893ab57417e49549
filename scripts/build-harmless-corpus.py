#!/usr/bin/env python3
"""Build the harmless tool-output corpus for the injection detector.

Reads redistributable files present on a Debian machine with Go, Python and
Node installed (Debian package docs, licences, man pages in several
languages, HTML, the Go and Python standard libraries, C headers, Go module
cache sources and READMEs, npm package metadata, /etc configuration, dpkg
logs, tz tables, Python's e-mail test messages, Node.js API docs) plus
deterministic renderings of that real text as tool results (JSON API
responses, CSV and markdown tables, issue threads, chat transcripts, e-mails,
application logs). Every chunk records its source, its licence and its
origin. Only content whose licence allows redistribution is taken: Debian
packages whose copyright file names a free licence, Go (BSD-3-Clause), Python
(PSF-2.0), Node.js (MIT), Go modules with a recognised LICENSE file.

Output: one JSON object per line, gzip-compressed, sorted and deterministic
for a given machine:
  {"text", "kind", "source", "group", "lang", "licence", "origin"}
kind   what a tool would return (doc, licence, man, html, code, pkgmeta,
       json_api, table, log, config, email, issue, chat, security_writing)
source a corpus part (e.g. "man-de", "go-stdlib"); group is the unit the
       split is made on (package, module or directory), so text from one
       package never lands on both sides of the train/eval split.

A fresh CI machine does not have the same files: the built corpus is
committed (detectors/injection/corpus/harmless.jsonl.gz) and this script is
how it was made. Usage:
  python3 scripts/build-harmless-corpus.py --out detectors/injection/corpus/harmless.jsonl.gz
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import random
import re
import sys

SEED = 20261202
NAMES = ["alice", "bob", "carla", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas", "kemi", "liam", "mei", "noah"]
MIN_CHUNK, MAX_CHUNK = 512, 8192

FREE = [
    ("GPL", r"\bGPL|General Public License"),
    ("LGPL", r"\bLGPL|Lesser General Public"),
    ("BSD", r"\bBSD"),
    ("MIT", r"\bMIT\b|\bExpat\b"),
    ("Apache-2.0", r"Apache"),
    ("ISC", r"\bISC\b"),
    ("Artistic", r"Artistic"),
    ("MPL", r"\bMPL|Mozilla Public"),
    ("Zlib", r"\bZlib\b"),
    ("public-domain", r"public[- ]domain"),
    ("CC0", r"CC0"),
    ("PSF", r"\bPSF\b|Python Software Foundation License"),
    ("permissive", r"Permission is hereby granted|Permission to use, copy, modify"),
]


def rng_for(*parts):
    h = hashlib.sha256("\x00".join(parts).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "little") ^ SEED)


def read_text(path, limit=400_000):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                b = f.read(limit)
        else:
            with open(path, "rb") as f:
                b = f.read(limit)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    if b"\x00" in b[:4096]:
        return None
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def licence_of_text(t):
    names = []
    for name, pat in FREE:
        if re.search(pat, t):
            names.append(name)
    return names


# --- Debian package -> files and licences --------------------------------

def dpkg_owners():
    owner = {}
    for lst in sorted(glob.glob("/var/lib/dpkg/info/*.list")):
        pkg = os.path.basename(lst)[:-5].split(":")[0]
        try:
            with open(lst, encoding="utf-8", errors="replace") as f:
                for line in f:
                    owner.setdefault(line.rstrip("\n"), pkg)
        except OSError:
            pass
    return owner


_lic_cache = {}


def pkg_licence(pkg):
    if pkg in _lic_cache:
        return _lic_cache[pkg]
    t = read_text(f"/usr/share/doc/{pkg}/copyright") or ""
    short = sorted(set(m.strip() for m in re.findall(r"^License:\s*(\S[^\n]*)", t, re.M)))
    lic = None
    if short:
        free = [s for s in short if licence_of_text(s) or re.search(r"GPL|BSD|MIT|Expat|Apache|ISC|Artistic|MPL|Zlib|public|CC0|PSF|X11|OpenSSL|curl|permissive", s, re.I)]
        if free:
            lic = "; ".join(free[:4])
    if lic is None and t:
        n = licence_of_text(t)
        if n:
            lic = "; ".join(n[:3]) + " (per /usr/share/doc/%s/copyright)" % pkg
    _lic_cache[pkg] = lic
    return lic


# --- chunking -------------------------------------------------------------

def chunks(text, rng, max_chunks):
    """Split text at blank lines (or lines) into pieces of 0.5-8 KB with a
    log-uniform target size; at most max_chunks, spread over the text."""
    text = text.replace("\r\n", "\n")
    if len(text.encode()) < MIN_CHUNK:
        return []
    paras = re.split(r"(\n\s*\n)", text)
    pieces = []
    for p in paras:
        if len(p.encode()) > MAX_CHUNK:
            pieces.extend(l + "\n" for l in p.split("\n"))
        else:
            pieces.append(p)
    out, cur, target = [], [], None
    size = 0
    for p in pieces:
        if target is None:
            target = int(MIN_CHUNK * (16 ** rng.random()))
        b = len(p.encode())
        if b > MAX_CHUNK:
            continue
        if size + b > MAX_CHUNK and size >= MIN_CHUNK:
            out.append("".join(cur))
            cur, size, target = [], 0, int(MIN_CHUNK * (16 ** rng.random()))
        cur.append(p)
        size += b
        if size >= target:
            out.append("".join(cur))
            cur, size, target = [], 0, None
    if size >= MIN_CHUNK:
        out.append("".join(cur))
    out = [c.strip("\n") for c in out if MIN_CHUNK <= len(c.strip("\n").encode()) <= MAX_CHUNK]
    if len(out) > max_chunks:
        idx = sorted(rng.sample(range(len(out)), max_chunks))
        out = [out[i] for i in idx]
    return out


class Corpus:
    def __init__(self):
        self.rows = []
        self.seen = set()

    def add(self, text, kind, source, group, licence, origin, lang="en"):
        if not licence:
            return
        h = hashlib.sha1(text.encode()).hexdigest()
        if h in self.seen:
            return
        self.seen.add(h)
        self.rows.append({"text": text, "kind": kind, "source": source, "group": group,
                          "lang": lang, "licence": licence, "origin": origin})

    def add_file(self, path, kind, source, group, licence, max_chunks, lang="en", transform=None):
        t = read_text(path)
        if not t:
            return
        if transform:
            t = transform(t)
        for c in chunks(t, rng_for(path), max_chunks):
            self.add(c, kind, source, group, licence, path, lang)


def capped(paths, n, key):
    paths = sorted(paths)
    r = rng_for("cap", key)
    if len(paths) > n:
        paths = sorted(r.sample(paths, n))
    return paths


# --- man pages ------------------------------------------------------------

ROFF_ESC = [(r"\\f[BIRP1-4]|\\f\(..|\\f\[[^\]]*\]", ""), (r"\\-", "-"), (r"\\\(em|\\\(en", "—"),
            (r"\\\(aq", "'"), (r"\\\(lq|\\\(rq|\\\(dq", '"'), (r"\\\(bu", "•"), (r"\\e", "\\\\"),
            (r"\\&", ""), (r"\\ ", " "), (r"\\\*\(..|\\\*.", ""), (r"\\s[-+]?\d", ""), (r"\\\|", ""), (r"\\c", "")]


def render_roff(t):
    out = []
    for line in t.split("\n"):
        if line.startswith(('.\\"', "'\\\"", '.\\\\"')):
            continue
        if line.startswith((".", "'")):
            m = re.match(r"[.'](\w+)\s*(.*)", line)
            if not m:
                continue
            mac, arg = m.group(1), m.group(2)
            if mac in ("SH", "SS"):
                out.append("\n" + arg.strip('"').upper())
            elif mac in ("B", "I", "BR", "IR", "RB", "BI", "IB", "RI", "SM"):
                out.append(re.sub(r'"', "", arg))
            elif mac in ("TP", "PP", "P", "LP", "IP", "sp", "br", "HP"):
                out.append("" if mac != "IP" else re.sub(r'"', "", arg.split('" ')[0]))
            elif mac == "TH":
                out.append(arg.replace('"', ""))
            continue
        out.append(line)
    s = "\n".join(out)
    for pat, rep in ROFF_ESC:
        s = re.sub(pat, rep, s)
    return re.sub(r"\n{3,}", "\n\n", s)


def build(c, owner):
    # Licence texts.
    for p in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(p):
            c.add_file(p, "licence", "common-licenses", "lic:" + os.path.basename(p),
                       os.path.basename(p) + " (licence text; verbatim copying permitted)", 4)
    # Debian copyright files, READMEs, NEWS, changelogs (as docs).
    pkgs = sorted(d for d in os.listdir("/usr/share/doc") if os.path.isdir("/usr/share/doc/" + d))
    for pkg in pkgs:
        lic = pkg_licence(pkg)
        if not lic:
            continue
        c.add_file(f"/usr/share/doc/{pkg}/copyright", "licence", "debian-copyright", "deb:" + pkg, lic, 1)
        for p in sorted(glob.glob(f"/usr/share/doc/{pkg}/*")):
            b = os.path.basename(p).lower()
            if b.startswith(("readme", "news", "todo", "faq", "usage", "howto")) and not p.endswith(".html"):
                c.add_file(p, "doc", "debian-docs", "deb:" + pkg, lic, 3)
            elif b.startswith("changelog"):
                c.add_file(p, "doc", "debian-changelog", "deb:" + pkg, lic, 1)
        for p in capped(glob.glob(f"/usr/share/doc/{pkg}/**/*.html", recursive=True), 12, pkg):
            c.add_file(p, "html", "debian-html", "deb:" + pkg, lic, 3)
        for p in capped(glob.glob(f"/usr/share/doc/{pkg}/**/*.md", recursive=True) +
                        glob.glob(f"/usr/share/doc/{pkg}/**/*.txt", recursive=True), 40, pkg + "md"):
            c.add_file(p, "doc", "debian-docs", "deb:" + pkg, lic, 3)
    # Man pages, every language directory.
    byl = {}
    for p in glob.glob("/usr/share/man/**/*.gz", recursive=True):
        rel = p[len("/usr/share/man/"):]
        lang = rel.split("/")[0]
        lang = "en" if lang.startswith("man") else lang.split("_")[0].split(".")[0]
        byl.setdefault(lang, []).append(p)
    for lang, ps in sorted(byl.items()):
        for p in capped(ps, 1800 if lang == "en" else 600, "man" + lang):
            pkg = owner.get(p)
            lic = pkg and pkg_licence(pkg)
            c.add_file(p, "man", "man-" + lang, "deb:" + (pkg or "?"), lic, 2, lang, render_roff)
    # Go standard library (BSD-3-Clause) and Go docs.
    gofiles = [p for p in glob.glob("/usr/local/go/src/**/*.go", recursive=True) if "/testdata/" not in p]
    for p in capped(gofiles, 1400, "gostd"):
        d = os.path.dirname(p)[len("/usr/local/go/src/"):]
        c.add_file(p, "code", "go-stdlib", "go:" + d, "BSD-3-Clause (Go)", 2)
    for p in sorted(glob.glob("/usr/local/go/doc/*")):
        if os.path.isfile(p):
            c.add_file(p, "html" if p.endswith(".html") else "doc", "go-doc", "godoc:" + os.path.basename(p), "BSD-3-Clause (Go) / CC-BY-4.0 docs", 40)
    # Python standard library (PSF-2.0).
    pyroot = "/root/.pyenv/versions/3.11.7/lib/python3.11/"
    pyfiles = [p for p in glob.glob(pyroot + "**/*.py", recursive=True) if "site-packages" not in p]
    for p in capped(pyfiles, 1200, "pystd"):
        d = os.path.dirname(p)[len(pyroot):] or "."
        c.add_file(p, "code", "python-stdlib", "py:" + d, "PSF-2.0", 2)
    for p in sorted(glob.glob(pyroot + "test/test_email/data/msg_*.txt")):
        c.add_file(p, "email", "python-email-tests", "pyemail:" + os.path.basename(p), "PSF-2.0", 1)
    # C headers.
    hs = glob.glob("/usr/include/**/*.h", recursive=True)
    for p in capped(hs, 700, "hdr"):
        pkg = owner.get(p)
        lic = pkg and pkg_licence(pkg)
        c.add_file(p, "code", "c-headers", "deb:" + (pkg or "?") + ":" + os.path.dirname(p), lic, 2)
    # Perl modules and shell scripts from Debian packages.
    for p in capped(glob.glob("/usr/share/perl5/**/*.pm", recursive=True) + glob.glob("/usr/share/perl/**/*.pm", recursive=True), 300, "perl"):
        pkg = owner.get(p)
        c.add_file(p, "code", "perl", "deb:" + (pkg or "?"), pkg and pkg_licence(pkg), 2)
    scripts = []
    for p in sorted(glob.glob("/usr/bin/*") + glob.glob("/usr/sbin/*")):
        if os.path.isfile(p) and not os.path.islink(p):
            try:
                with open(p, "rb") as f:
                    if f.read(2) == b"#!":
                        scripts.append(p)
            except OSError:
                pass
    for p in capped(scripts, 600, "sh"):
        pkg = owner.get(p)
        c.add_file(p, "code", "scripts", "deb:" + (pkg or "?"), pkg and pkg_licence(pkg), 2)
    # Go module cache: sources and READMEs, licence from the module's LICENSE.
    modroot = os.path.expanduser("~/go/pkg/mod/")
    mods = {}
    for lic in glob.glob(modroot + "**/LICENSE*", recursive=True) + glob.glob(modroot + "**/COPYING*", recursive=True):
        d = os.path.dirname(lic)
        if "@" in d and "/cache/" not in d:
            t = read_text(lic) or ""
            n = licence_of_text(t)
            if n:
                mods.setdefault(d, "; ".join(n[:2]))
    for d, lic in sorted(mods.items()):
        mod = d[len(modroot):]
        gs = [p for p in glob.glob(d + "/**/*.go", recursive=True) if "/testdata/" not in p]
        for p in capped(gs, 20, mod):
            c.add_file(p, "code", "go-modules", "mod:" + mod, lic, 2)
        for p in sorted(glob.glob(d + "/**/*.md", recursive=True))[:20]:
            c.add_file(p, "doc", "go-module-docs", "mod:" + mod, lic, 3)
        gm = d + "/go.mod"
        if os.path.exists(gm):
            t = read_text(gm)
            if t and len(t) >= MIN_CHUNK:
                c.add(t[:MAX_CHUNK], "pkgmeta", "go-mod-files", "mod:" + mod, lic, gm)
    # npm packages shipped with Node.js: package.json, READMEs, JS.
    for pj in sorted(glob.glob("/usr/lib/node_modules/**/package.json", recursive=True)):
        d = os.path.dirname(pj)
        t = read_text(pj)
        try:
            meta = json.loads(t or "")
        except ValueError:
            continue
        lic = meta.get("license") if isinstance(meta, dict) else None
        if not isinstance(lic, str) or not licence_of_text(lic) and lic not in ("ISC", "BlueOak-1.0.0", "Artistic-2.0", "0BSD"):
            continue
        name = meta.get("name") or d
        if len(t) >= MIN_CHUNK:
            c.add(t[:MAX_CHUNK] if len(t) <= MAX_CHUNK else t[:MAX_CHUNK].rsplit("\n", 1)[0], "pkgmeta", "npm-package-json", "npm:" + name, lic, pj)
        for p in sorted(glob.glob(d + "/*.md")):
            c.add_file(p, "doc", "npm-readme", "npm:" + name, lic, 3)
        js = [p for p in glob.glob(d + "/lib/**/*.js", recursive=True) + glob.glob(d + "/*.js") if "/node_modules/" not in p[len(d):]]
        for p in capped(js, 15, name):
            c.add_file(p, "code", "npm-js", "npm:" + name, lic, 1)
    # Node.js API docs (MIT): markdown, HTML, JSON.
    for p in sorted(glob.glob("/usr/share/doc/nodejs/api/*")):
        b = os.path.basename(p)
        if b.startswith("all."):
            continue
        kind = "html" if b.endswith(".html") else "json_api" if ".json" in b else "doc"
        c.add_file(p, kind, "nodejs-api-docs", "node:" + b.split(".")[0], "MIT (Node.js)", 3)
    # Configuration files in /etc owned by packages.
    for p in sorted(glob.glob("/etc/**/*", recursive=True)):
        if os.path.isfile(p) and not os.path.islink(p) and not p.startswith(("/etc/ssl/private", "/etc/shadow", "/etc/gshadow")):
            pkg = owner.get(p)
            if pkg:
                c.add_file(p, "config", "etc", "deb:" + pkg, pkg_licence(pkg), 2)
    # Tables: tzdata (public domain), distro-info (ISC).
    for p in sorted(glob.glob("/usr/share/zoneinfo/*.tab")):
        c.add_file(p, "table", "tzdata", "tz:" + os.path.basename(p), "public-domain (tzdata)", 6)
    for p in sorted(glob.glob("/usr/share/distro-info/*.csv")):
        c.add_file(p, "table", "distro-info", "distro:" + os.path.basename(p), "ISC (distro-info-data)", 4)
    for p in sorted(glob.glob("/usr/share/iso-codes/json/iso_*.json")):
        c.add_file(p, "json_api", "iso-codes", "iso:" + os.path.basename(p), "LGPL-2.1+ (iso-codes)", 6)
    # Machine logs (generated by package managers on this machine; no creative content).
    for p in sorted(glob.glob("/var/log/*.log") + glob.glob("/var/log/apt/*.log")):
        c.add_file(p, "log", "var-log", "log:" + os.path.basename(p), "machine-generated log (no copyright)", 30)


# --- renderings of real text as tool results ------------------------------

def dpkg_status():
    t = read_text("/var/lib/dpkg/status", 20_000_000) or ""
    out = []
    for para in t.split("\n\n"):
        f, key = {}, None
        for line in para.split("\n"):
            if line.startswith((" ", "\t")) and key:
                f[key] += "\n" + line[1:]
            elif ":" in line:
                key, v = line.split(":", 1)
                f[key] = v.strip()
        if "Package" in f:
            out.append(f)
    return out


def sentences(rows, kinds, lang="en"):
    out = []
    for r in rows:
        if r["kind"] in kinds and r["lang"] == lang:
            for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", r["text"])):
                if 30 <= len(s) <= 240 and re.match(r"^[A-Z][a-z]", s) and not re.search(r"[{}<>\\;=|]", s):
                    out.append((s, r["group"], r["licence"]))
    return out


def render(c, status):
    r = random.Random(SEED)
    # JSON API responses and tables from the dpkg database.
    pk = [s for s in status if s.get("Description")]
    for i in range(0, len(pk), 6):
        batch = pk[i:i + 6]
        grp = "deb:" + batch[0]["Package"]
        lic = pkg_licence(batch[0]["Package"])
        items = [{"name": s["Package"], "version": s.get("Version", ""), "architecture": s.get("Architecture", ""),
                  "section": s.get("Section", ""), "installed_size_kb": int(s.get("Installed-Size", "0") or 0),
                  "maintainer": s.get("Maintainer", ""), "homepage": s.get("Homepage", ""),
                  "summary": s["Description"].split("\n")[0], "description": "\n".join(s["Description"].split("\n")[1:]).replace("\n.\n", "\n\n")}
                 for s in batch]
        style = r.randrange(4)
        if style == 0:
            doc = {"data": items, "meta": {"page": i // 6 + 1, "per_page": 6, "total": len(pk)}}
            txt = json.dumps(doc, indent=2, ensure_ascii=False)
        elif style == 1:
            txt = json.dumps({"jsonrpc": "2.0", "id": i, "result": {"content": [{"type": "text", "text": json.dumps(items, ensure_ascii=False)}], "isError": False}}, ensure_ascii=False)
        elif style == 2:
            lines = ["| package | version | section | size (KB) | summary |", "|---|---|---|---|---|"]
            lines += [f"| {x['name']} | {x['version']} | {x['section']} | {x['installed_size_kb']} | {x['summary']} |" for x in items]
            txt = "\n".join(lines) + "\n\n" + "\n\n".join(f"### {x['name']}\n{x['description']}" for x in items)
        else:
            lines = ["name,version,architecture,section,installed_size_kb,summary"]
            lines += [",".join([x["name"], x["version"], x["architecture"], x["section"], str(x["installed_size_kb"]), '"' + x["summary"].replace('"', '""') + '"']) for x in items]
            txt = "\n".join(lines)
        if len(txt.encode()) < MIN_CHUNK:
            continue
        kind = ["json_api", "json_api", "table", "table"][style]
        c.add(txt[:MAX_CHUNK], kind, "dpkg-" + kind, grp, lic, "/var/lib/dpkg/status")
    # Issue threads and e-mails from Debian changelog entries (real maintainer
    # text), chat transcripts from README sentences.
    names = NAMES
    for pkg in sorted(os.listdir("/usr/share/doc")):
        lic = pkg_licence(pkg)
        if not lic:
            continue
        cl = read_text(f"/usr/share/doc/{pkg}/changelog.Debian.gz", 60000)
        if not cl:
            continue
        entries = re.findall(r"^(\S+) \(([^)]+)\)[^\n]*\n\n(.*?)\n\n -- ([^<]+)<[^>]+>\s+(.*?)$", cl, re.M | re.S)
        if not entries:
            continue
        rr = rng_for("issue", pkg)
        for e in rr.sample(entries[:12], min(3, len(entries))):
            render_entry(c, rr, pkg, lic, e, names)


def render_entry(c, rr, pkg, lic, e, names):
    if True:
        bullets = [re.sub(r"\s+", " ", b).strip() for b in re.split(r"\n\s*[*-] ", "\n" + e[2]) if b.strip()]
        if not bullets:
            return
        style = rr.randrange(4)
        if style == 0:
            comments = [{"id": 1000 + k, "user": {"login": rr.choice(names)}, "created_at": f"2025-{1 + k % 12:02d}-{1 + k:02d}T10:{k:02d}:00Z", "body": b}
                        for k, b in enumerate(bullets[:12])]
            txt = json.dumps({"number": rr.randrange(100, 9999), "title": f"{e[0]} {e[1]}: {bullets[0][:80]}", "state": rr.choice(["open", "closed"]),
                              "labels": [{"name": rr.choice(["bug", "packaging", "security", "enhancement"])}], "comments": comments}, indent=1, ensure_ascii=False)
            kind = "issue"
        elif style == 1:
            body = "\n".join(f"**{rr.choice(names)}** commented:\n\n{b}\n" for b in bullets[:12])
            txt = f"# {e[0]} {e[1]}\n\nOpened by {rr.choice(names)} · {len(bullets)} comments\n\n{body}"
            kind = "issue"
        elif style == 2:
            who = e[3].strip()
            txt = (f"From: {who} <maintainer@packages.example.org>\nTo: {pkg}-devel@lists.example.org\nDate: {e[4].strip()}\n"
                   f"Subject: Upload of {e[0]} {e[1]}\nContent-Type: text/plain; charset=utf-8\n\nHi all,\n\nI uploaded {e[0]} {e[1]} with these changes:\n\n"
                   + "\n".join(" - " + b for b in bullets[:15]) + f"\n\nPlease report any regressions to the bug tracker.\n\nThanks,\n{who}\n")
            kind = "email"
        else:
            msgs = [{"ts": f"17{rr.randrange(10**8):08d}.{k:06d}", "user": rr.choice(names), "text": b} for k, b in enumerate(bullets[:14])]
            txt = json.dumps({"ok": True, "channel": "C0" + pkg.upper()[:6], "messages": msgs, "has_more": False}, ensure_ascii=False)
            kind = "chat"
        if MIN_CHUNK <= len(txt.encode()) <= MAX_CHUNK:
            c.add(txt, kind, "changelog-" + kind, "deb:" + pkg, lic, f"/usr/share/doc/{pkg}/changelog.Debian.gz")


def render_sentences(c, names):
    # Chat transcripts and search results from documentation sentences, in each language.
    for lang in ["en", "de", "fr", "es", "ru", "zh", "ja", "it", "pl", "pt", "nl", "sv", "cs", "uk", "tr"]:
        ss = sentences(c.rows, ("doc", "man"), lang) if lang == "en" else [
            (re.sub(r"\s+", " ", s).strip(), r["group"], r["licence"]) for r in c.rows if r["lang"] == lang and r["kind"] == "man"
            for s in re.split(r"(?<=[.!?。])\s*", r["text"]) if 30 <= len(s) <= 240 and not re.search(r"[{}<>\\;=|]", s)]
        if len(ss) < 50:
            continue
        rr = random.Random(SEED ^ hash(lang) if False else SEED + len(lang) * 7 + ord(lang[0]))
        n = 600 if lang == "en" else 120
        for k in range(n):
            pick = [ss[rr.randrange(len(ss))] for _ in range(rr.randrange(4, 16))]
            grp = pick[0][1]
            lic = pick[0][2]
            style = rr.randrange(3)
            if style == 0:
                txt = "\n".join(f"[{9 + j // 6:02d}:{(j * 7) % 60:02d}] <{rr.choice(names)}> {s}" for j, (s, _, _) in enumerate(pick))
                kind = "chat"
            elif style == 1:
                txt = json.dumps({"query": pick[0][0][:40], "results": [{"title": s[:60], "url": f"https://docs.example.org/{lang}/{abs(hash(s)) % 100000 if False else j}", "snippet": s} for j, (s, _, _) in enumerate(pick)]}, ensure_ascii=False, indent=1)
                kind = "json_api"
            else:
                txt = json.dumps({"messages": [{"role": "user" if j % 2 == 0 else "assistant", "author": rr.choice(names), "content": s} for j, (s, _, _) in enumerate(pick)]}, ensure_ascii=False)
                kind = "chat"
            if MIN_CHUNK <= len(txt.encode()) <= MAX_CHUNK:
                c.add(txt, kind, f"rendered-{kind}-{lang}", grp, "; ".join(sorted(set(p[2] for p in pick)))[:200], "sentences of " + ", ".join(sorted(set(p[1] for p in pick)))[:300], lang)


# --- generated tool output (CC0, written for this corpus) ------------------

SEC_TOPICS = [
    "Prompt injection is an attack in which text that a model reads as data is treated as instructions.",
    "Indirect prompt injection happens when a tool result, a web page or a document carries instructions that the agent then follows.",
    "A classic example is a web page that contains the sentence \"ignore all previous instructions\" in white text.",
    "Researchers showed that an e-mail assistant could be tricked into forwarding messages when an attacker-controlled message asked it to.",
    "Defences include separating trusted instructions from untrusted data, limiting tool permissions and requiring approval for sensitive actions.",
    "Detection models for jailbreaks are often evaluated on public sets such as deepset's prompt-injections, BIPIA and TaskTracker.",
    "A gateway that inspects tool results can flag content that tries to steer the agent, but it must not block ordinary documents.",
    "The OWASP Top 10 for LLM applications lists prompt injection as the first risk.",
    "Data exfiltration through markdown images works because the client fetches the image URL, which can carry stolen data in its query string.",
    "Tool poisoning hides instructions in a tool description, which the model reads when it decides which tool to call.",
    "CVE write-ups for agent frameworks often describe how an untrusted file led the agent to run a shell command.",
    "Red teams test jailbreak prompts such as role-play scenarios, DAN-style personas and encoded payloads.",
    "Attackers sometimes encode their payload in base64 or hide it with zero-width characters so that keyword filters miss it.",
    "Canary tokens placed in the system prompt help detect when a model leaks its instructions.",
    "The phrase \"you are now in developer mode\" is a well-known jailbreak opener that filters should recognise.",
    "Rate limits, allow-lists of domains and human approval reduce the impact when an injection succeeds.",
    "Spotlighting marks untrusted input, for example by encoding it or wrapping it in delimiters, so the model can tell data from instructions.",
    "In our evaluation the false-positive rate matters as much as recall: a detector that blocks licences and READMEs will be switched off.",
    "A fake system tag such as <system> inside a document is a sign of an injection attempt, since real tool output rarely contains one.",
    "Security teams should log every blocked call with the rule that fired, so that analysts can review false positives.",
    "The attacker's goal is usually to make the agent call a tool it should not, such as sending e-mail or reading private files.",
    "Multilingual attacks translate the instruction into French, Spanish or Chinese to evade English-only filters.",
    "Benchmarks distinguish direct injection, typed by the user, from indirect injection, delivered through content the agent retrieves.",
    "A model that was trained only on short chat prompts tends to flag long imperative documentation as an attack.",
    "Mitigations listed in the advisory: upgrade to the fixed version, disable the plugin, and review the audit log for unexpected tool calls.",
]
SEC_INTROS = ["## Threat model", "### Background", "Summary", "## Mitigation", "Advisory", "Notes from the reading group", "# Security considerations", "## Related work"]


def security_writing(c, n):
    r = random.Random(SEED + 11)
    for k in range(n):
        paras = []
        for _ in range(r.randrange(3, 9)):
            ss = r.sample(SEC_TOPICS, r.randrange(2, 5))
            paras.append(" ".join(ss))
        txt = r.choice(SEC_INTROS) + "\n\n" + "\n\n".join(paras)
        if r.random() < 0.3:
            txt = json.dumps({"id": f"GHSA-{r.randrange(16**4):04x}-{r.randrange(16**4):04x}-{r.randrange(16**4):04x}", "summary": paras[0][:100],
                              "severity": r.choice(["low", "moderate", "high"]), "details": txt}, indent=2)
        if len(txt.encode()) >= MIN_CHUNK:
            c.add(txt[:MAX_CHUNK], "security_writing", "security-writing", f"sec:{k % 40}", "CC0-1.0 (written for Portcullis)", "generated")


def logs(c, n):
    r = random.Random(SEED + 13)
    paths = ["/api/v1/orders", "/api/v1/users/me", "/healthz", "/static/app.js", "/login", "/search?q=invoice", "/metrics", "/api/v2/items/%d", "/favicon.ico"]
    uas = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "curl/8.5.0", "Go-http-client/1.1", "python-requests/2.31.0", "kube-probe/1.29"]
    svcs = ["api", "worker", "scheduler", "billing", "auth", "ingest"]
    msgs = ["connection established", "request completed", "cache miss for key %s", "retrying after transient error", "job %s finished in %dms",
            "user %s logged in", "deprecated option ignored: use --listen instead", "ignoring unknown field in config", "rotating log file",
            "checkpoint written", "lease renewed", "slow query took %dms", "TLS handshake failed: certificate expired", "worker pool resized to %d"]
    for k in range(n):
        style = r.randrange(5)
        lines = []
        t = 1733100000 + r.randrange(10**7)
        for i in range(r.randrange(8, 80)):
            t += r.randrange(0, 30)
            m = r.choice(msgs)
            m = m.replace("%s", r.choice(["u-%d" % r.randrange(9999), "orders:%d" % r.randrange(99999), "job-%x" % r.randrange(16**6)])).replace("%d", str(r.randrange(1, 5000)))
            lvl = r.choice(["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"])
            ts = f"2025-{1 + t % 12:02d}-{1 + t % 28:02d}T{t % 24:02d}:{t % 60:02d}:{(t // 7) % 60:02d}.{t % 1000:03d}Z"
            if style == 0:
                p = r.choice(paths).replace("%d", str(r.randrange(9999)))
                lines.append(f'10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)} - - [{1 + t % 28:02d}/Dec/2025:{t % 24:02d}:{t % 60:02d}:{(t // 7) % 60:02d} +0000] "{r.choice(["GET", "GET", "POST", "PUT"])} {p} HTTP/1.1" {r.choice([200, 200, 200, 204, 301, 404, 500])} {r.randrange(100, 90000)} "-" "{r.choice(uas)}"')
            elif style == 1:
                lines.append(json.dumps({"ts": ts, "level": lvl.lower(), "service": r.choice(svcs), "msg": m, "trace_id": "%032x" % r.randrange(16**32), "duration_ms": r.randrange(1, 900)}))
            elif style == 2:
                lines.append(f"Dec {1 + t % 28:2d} {t % 24:02d}:{t % 60:02d}:{(t // 7) % 60:02d} host{r.randrange(9)} {r.choice(svcs)}[{r.randrange(100, 40000)}]: {m}")
            elif style == 3:
                lines.append(f"{ts} {lvl:5s} [{r.choice(svcs)}] {r.choice(['main', 'http', 'db', 'queue'])}: {m}")
            else:
                lines.append(f"{r.randrange(1, 59)}m   {r.choice(['Normal', 'Normal', 'Warning'])}   {r.choice(['Scheduled', 'Pulled', 'Created', 'Started', 'BackOff', 'Unhealthy', 'Killing'])}   pod/{r.choice(svcs)}-{r.randrange(16**5):05x}   {m}")
        txt = "\n".join(lines)
        if len(txt.encode()) >= MIN_CHUNK:
            c.add(txt[:MAX_CHUNK].rsplit("\n", 1)[0], "log", "generated-logs", f"genlog:{style}:{k % 20}", "CC0-1.0 (generated)", "generated")


def tables(c):
    """Markdown and CSV tables of real reference data (iso-codes, LGPL-2.1+)."""
    r = random.Random(SEED + 17)
    for p in sorted(glob.glob("/usr/share/iso-codes/json/iso_*.json")):
        try:
            d = json.load(open(p, encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key, items in d.items():
            if not isinstance(items, list) or not items or not isinstance(items[0], dict):
                continue
            cols = sorted({k for it in items[:50] for k in it})[:6]
            for a in range(0, len(items), 40):
                part = items[a:a + r.randrange(15, 60)]
                if r.random() < 0.5:
                    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(str(it.get(k, "")) for k in cols) + " |" for it in part]
                else:
                    lines = [",".join(cols)] + [",".join('"' + str(it.get(k, "")).replace('"', '""') + '"' for k in cols) for it in part]
                txt = "\n".join(lines)
                if MIN_CHUNK <= len(txt.encode()) <= MAX_CHUNK:
                    c.add(txt, "table", "iso-codes-tables", "iso:" + os.path.basename(p), "LGPL-2.1+ (iso-codes)", p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra", default="", help="extra harmless JSONL (already licensed rows) to include")
    a = ap.parse_args()
    c = Corpus()
    owner = dpkg_owners()
    build(c, owner)
    render(c, dpkg_status())
    render_sentences(c, NAMES)
    security_writing(c, 400)
    logs(c, 900)
    tables(c)
    if a.extra:
        with open(a.extra, encoding="utf-8") as f:
            for line in f:
                o = json.loads(line)
                c.add(o["text"], o["kind"], o["source"], o["group"], o["licence"], o["origin"], o.get("lang", "en"))
    c.rows.sort(key=lambda o: (o["source"], o["group"], o["origin"], o["text"]))
    with open(a.out, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
            for o in c.rows:
                f.write((json.dumps(o, ensure_ascii=False) + "\n").encode())
    stats = {}
    for o in c.rows:
        s = stats.setdefault(o["kind"], [0, 0])
        s[0] += 1
        s[1] += len(o["text"].encode())
    for k, (n, b) in sorted(stats.items()):
        print(f"{k:18s} {n:6d} chunks {b / 1e6:7.1f} MB", file=sys.stderr)
    print(f"total {len(c.rows)} chunks", file=sys.stderr)


if __name__ == "__main__":
    main()
