"""galcolor._memory: the heap settings of batch runs."""

import subprocess
import sys
import textwrap

import pytest


def test_release_is_a_no_op_until_the_heap_limit_is_on():
    # a fresh interpreter: another test may already have switched the limit on in this one
    code = textwrap.dedent("""
        import sys
        from galcolor import _memory
        before = _memory.release_free_memory()
        on = _memory.limit_heap_growth()
        after = _memory.release_free_memory()
        print(before, on, after, _memory._libc() is not None)
    """)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    before, on, after, glibc = (word == "True" for word in output)
    assert not before  # never trims a process that did not ask for it
    if not glibc:
        pytest.skip("not glibc: both settings are no-ops here")
    assert on and isinstance(after, bool)
