"""Request and reservation ids: 32 hex digits, never the same twice, in a forked child too."""

from __future__ import annotations

import os
import re

from magray_lsp.cost.ledger import new_id


def test_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert any(i.startswith("0") for i in ids)  # zero-padded, not shortened


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    # the generator is reseeded in a forked child: two processes never share a stream
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, "".join(new_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read().decode()
    os.waitpid(pid, 0)
    theirs = {data[i : i + 32] for i in range(0, len(data), 32)}
    ours = {new_id() for _ in range(100)}
    assert len(theirs) == 100 and not theirs & ours
