#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""cover-letter-text.py COVER: the version, subject and text of a cover
letter made by git format-patch --cover-letter, for series.sh to make it
again: prints "vN" (followed by " rfc" for an [RFC PATCH ...] series), the
subject without its [PATCH ...] prefix, an empty line and the text up to
the shortlog ("Author Name (N):")."""
import email
import email.policy
import re
import sys


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        msg = email.message_from_file(f, policy=email.policy.default)
    subject = " ".join(str(msg["Subject"]).split())
    m = re.match(r"\[(RFC )?PATCH(?: v(\d+))? 0+/\d+\] (.*)", subject)
    if not m:
        sys.exit(f"cover-letter-text: not a cover letter subject: {subject}")
    body = msg.get_content()
    text = []
    for line in body.splitlines():
        if re.match(r"^\S.* \(\d+\):$", line):
            break
        text.append(line)
    print(f"v{m.group(2) or 1}" + (" rfc" if m.group(1) else ""))
    print(m.group(3))
    print()
    print("\n".join(text).strip())


if __name__ == "__main__":
    main()
