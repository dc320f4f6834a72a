"""Explore's "Add dataset": upload an .npz or a zipped image folder, or give a server path.

Thin Streamlit glue over memcore.data.imports (the same validation as `datasets add`). Outside
a demo anyone may import, from an upload or a path on the server. In a public demo
(MEMCORE_DEMO) the control is off unless MEMCORE_DEMO_UPLOADS is set; then uploads only (no
server paths), each recorded as the visitor's: a visitor's dataset box shows the built-ins and
only their own uploads (app.state.dataset_names). Uploads are capped by MEMCORE_MAX_UPLOAD_MB.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import streamlit as st

from app import errors, forms, state
from memcore import settings

K = "add-dataset"  # prefix of this control's widget keys


def _demo() -> bool:
    return bool(settings.get("MEMCORE_DEMO"))


def policy() -> tuple[bool, bool, str]:
    """(uploads allowed, server paths allowed, why not) under the settings now."""
    if state.read_only():
        return False, False, "This server serves stored runs only (MEMCORE_READONLY)."
    if not _demo():
        return True, True, ""
    if settings.get("MEMCORE_DEMO_UPLOADS"):
        return True, False, ""
    return False, False, "Adding datasets is off in this demo (MEMCORE_DEMO_UPLOADS is not set)."


def cap_bytes() -> int:
    return int(settings.get("MEMCORE_MAX_UPLOAD_MB") * 2**20)


def _add(ss: MutableMapping, prefix: str) -> None:
    """on_click of "Add": import, then pick the new dataset in the form (callbacks run before
    the widgets are drawn, so the select may be set here)."""
    from memcore.data import imports

    uploads, paths, _ = policy()
    name = (ss.get(f"{K}:name") or "").strip()
    upload = ss.get(f"{K}:file") if uploads else None
    path = (ss.get(f"{K}:path") or "").strip() if paths else ""
    size = int(ss.get(f"{K}:size") or 0) or None
    try:
        if not name:
            raise imports.BadDataset("name the dataset (the Name box) before adding it")
        if upload is not None:
            who = state.dataset_owner() or ""
            info, notes = imports.add_upload(
                upload.getvalue(),
                upload.name,
                name,
                owner=who,
                max_bytes=cap_bytes(),
                image_size=size,
            )
        elif path:
            label = (ss.get(f"{K}:label") or "").strip() or None
            info, notes = imports.add(path, name, image_size=size, label=label)
        else:
            raise imports.BadDataset("choose a file to upload (.npz or .zip), or give a path")
    except ValueError as e:
        ss[f"{K}:result"] = ("error", str(e))
        return
    shape = "x".join(map(str, info.input_shape))
    said = " ".join(f"Note: {n}." for n in notes)
    ss[f"{K}:result"] = (
        "ok",
        f"Imported {info.name}: {info.n_train} train / {info.n_val} val, input {shape}, "
        f"{len(info.classes)} classes. {said}".strip(),
    )
    ss[forms.key(prefix, "data.dataset")] = info.name
    forms.dataset_edited(ss, prefix)


def control(prefix: str) -> None:
    """The "Add dataset" expander (in the sidebar, under the run form)."""
    uploads, paths, why = policy()
    with st.expander("Add dataset"):
        if not uploads and not paths:
            st.caption(why)
            return
        st.caption(
            "An .npz with arrays x (N x features or N x C x H x W) and y (integer labels), "
            "optionally x_val / y_val; or a zipped folder of class subfolders of images. "
            f"Up to {settings.get('MEMCORE_MAX_UPLOAD_MB'):g} MB."
        )
        st.file_uploader("File", type=["npz", "zip"], key=f"{K}:file")
        if paths:
            st.text_input("or a path on this server (.npz, .csv, image folder)", key=f"{K}:path")
            st.text_input("CSV label column", key=f"{K}:label")
        st.number_input("Image side (0 = as they are)", 0, 1024, 0, key=f"{K}:size")
        st.text_input("Name", key=f"{K}:name", max_chars=40)
        st.button("Add", key=f"{K}:add", on_click=_add, args=(st.session_state, prefix))
        result = st.session_state.pop(f"{K}:result", None)
        if result is not None:
            kind, text = result
            if kind == "ok":
                st.success(errors.escape(text))
            else:
                st.error(errors.escape(text))
