#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every function the library exports has a man page.

usage: man-check.py VERSION-SCRIPT MAN3-DIR

For each name listed in the version script (every node): MAN3-DIR/name.3
exists, either a full page or a ".so man3/other.3" link to one. A full
page has the sections NAME, SYNOPSIS, DESCRIPTION, RETURN VALUE, ERRORS
(liburing's layout; ERRORS may be left out only by functions that cannot
fail) and SEE ALSO, names the function in NAME and declares it in
SYNOPSIS. Pages for functions the library does not export fail too.
"""
import os
import re
import sys

script, mandir = sys.argv[1], sys.argv[2]
text = re.sub(r"/\*.*?\*/", "", open(script).read(), flags=re.S)
names = set()
for body in re.findall(r"UIPC_[0-9.]+\s*\{(.*?)\}", text, re.S):
    names.update(re.findall(r"\b(uipc_\w+)\s*;", body.split("local:")[0]))

errors = []
def full_page(name):
    path = os.path.join(mandir, name + ".3")
    if not os.path.isfile(path):
        errors.append("%s: no man page %s" % (name, path))
        return None
    src = open(path).read()
    m = re.match(r"\.so man3/(\S+)\.3\s*$", src)
    if m:
        target = os.path.join(mandir, m.group(1) + ".3")
        if not os.path.isfile(target):
            errors.append("%s: links to missing %s" % (name, target))
            return None
        return open(target).read()
    return src

for name in sorted(names):
    src = full_page(name)
    if src is None:
        continue
    sections = re.findall(r"^\.SH (.+)$", src, re.M)
    for want in ["NAME", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "SEE ALSO"]:
        if want not in sections:
            errors.append("%s: page lacks %s" % (name, want))
    name_sec = src.split(".SH NAME", 1)[-1].split(".SH", 1)[0]
    if not re.search(r"\b%s\b" % name, name_sec):
        errors.append("%s: not named in the NAME section of its page" % name)
    syn = src.split(".SH SYNOPSIS", 1)[-1].split(".SH", 1)[0]
    if not re.search(r"\b%s\(" % name, syn):
        errors.append("%s: not declared in the SYNOPSIS of its page" % name)
    if "ERRORS" not in sections and "negative errno" in src:
        errors.append("%s: can fail but its page has no ERRORS" % name)

for f in sorted(os.listdir(mandir)):
    if f.endswith(".3") and f[:-2] not in names:
        errors.append("%s: page for a function the library does not export" % f)

for e in errors:
    print(e)
if errors:
    sys.exit(1)
print("man pages: %d exported functions, each with its page in %s" % (len(names), mandir))
