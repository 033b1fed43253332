#!/usr/bin/env python3
"""Man pages from the programs' own argument parser: `PROGRAM --experimental-dump-help` describes every
command, option and default as JSON, so the pages say exactly what `--help` says and cannot drift from it.

Usage: manpages.py OUT_DIR PROGRAM...   (writes OUT_DIR/PROGRAM.1 and OUT_DIR/PROGRAM-SUBCOMMAND.1)
"""

import json
import subprocess
import sys
from pathlib import Path


def escape(text):
    """Roff-safe text: backslashes escaped, characters past ASCII named (groff reads bytes as Latin-1
    unless told), and no line taken for a request (a leading '.' or "'")."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    lines = text.split("\n")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in lines)


def shown(arguments):
    return [a for a in arguments if a.get("shouldDisplay", True) and a.get("valueName") not in ("help",)]


def option_head(a):
    names = sorted(a.get("names", []), key=lambda n: n["kind"] != "short")
    spelled = ", ".join(("\\-" if n["kind"] == "short" else "\\-\\-") + escape(n["name"]) for n in names)
    if a["kind"] == "positional":
        return f"\\fI{escape(a['valueName'])}\\fR" + ("..." if a.get("isRepeating") else "")
    if a["kind"] == "option":
        return f"\\fB{spelled}\\fR \\fI{escape(a['valueName'])}\\fR"
    return f"\\fB{spelled}\\fR"


def synopsis(path, command):
    parts = [f"\\fB{escape(' '.join(path))}\\fR"]
    for a in shown(command.get("arguments", [])):
        if a["kind"] == "positional":
            item = option_head(a)
            parts.append(f"[{item}]" if a.get("isOptional") else item)
    if any(a["kind"] != "positional" for a in shown(command.get("arguments", []))):
        parts.insert(1, "[\\fIoptions\\fR]")
    if command.get("subcommands"):
        parts.append("\\fIcommand\\fR")
    return " ".join(parts)


def page(path, command, version):
    title = "-".join(path)
    out = [
        f'.TH "{title.upper()}" 1 "" "{path[0]} {version}" "User Commands"',
        # Option names and paths must read as typed: no hyphenation, no stretched lines.
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{escape(title)} \\- {escape(command.get('abstract', ''))}",
        ".SH SYNOPSIS",
        synopsis(path, command),
    ]
    if command.get("discussion"):
        # Examples and tables keep their lines as written.
        out += [".SH DESCRIPTION", ".nf", escape(command["discussion"]), ".fi"]
    arguments = shown(command.get("arguments", []))
    if arguments:
        out.append(".SH OPTIONS")
        for a in arguments:
            text = a.get("abstract", "")
            if a.get("discussion"):
                text += " " + a["discussion"]
            if "defaultValue" in a:
                text += f" (default: {a['defaultValue']})"
            out += [".TP", option_head(a), escape(text)]
    subcommands = [s for s in command.get("subcommands", []) if s["commandName"] != "help"]
    if subcommands:
        out.append(".SH COMMANDS")
        for s in subcommands:
            out += [".TP", f"\\fB{escape(s['commandName'])}\\fR", escape(s.get("abstract", ""))]
        out.append(".SH SEE ALSO")
        out.append(", ".join(f"\\fB{escape(title)}\\-{escape(s['commandName'])}\\fR(1)" for s in subcommands))
    elif len(path) > 1:
        out += [".SH SEE ALSO", f"\\fB{escape(path[0])}\\fR(1)"]
    return "\n".join(out) + "\n"


def write(out_dir, path, command, version):
    (out_dir / ("-".join(path) + ".1")).write_text(page(path, command, version))
    for sub in command.get("subcommands", []):
        if sub["commandName"] != "help":
            write(out_dir, path + [sub["commandName"]], sub, version)


def main():
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for program in sys.argv[2:]:
        dump = json.loads(subprocess.run([program, "--experimental-dump-help"], capture_output=True, text=True,
                                         check=True).stdout)
        version = subprocess.run([program, "--version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        write(out_dir, [Path(program).name], dump["command"], version)


if __name__ == "__main__":
    main()
