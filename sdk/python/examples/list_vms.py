#!/usr/bin/python3
"""Prints the names of the caller's VMs as a JSON array: with BOXD_API_URL and an API key on a
laptop, or with nothing at all inside a boxd VM (the in-VM API knows the VM's owner).

    python3 examples/list_vms.py
"""
import json
import os
import sys

# Run from a checkout (sdk/python/examples) or from a copy of the package next to this file.
here = os.path.dirname(os.path.abspath(__file__))
for candidate in (os.path.join(here, "..", "src"), here):
    if os.path.isdir(os.path.join(candidate, "boxd")):
        sys.path.insert(0, candidate)
        break

import boxd  # noqa: E402

with boxd.Boxd() as client:
    print(json.dumps(sorted(m.name for m in client.machines.list())))
