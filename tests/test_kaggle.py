"""fetch_kaggle and extract_archive: offline, deterministic, never a SystemExit.

Kaggle itself is never contacted: the client is a stand-in passed as ``api=``,
the credentials live in a temporary HOME, and the one network test talks to a
silent server on localhost.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sys
import threading
import zipfile
from pathlib import Path

import pytest
import requests
from PIL import Image

from galcolor.exceptions import DownloadError, InputError
from galcolor.datasets.kaggle import (
    GALAXY_ZOO_COMPETITION,
    GALAXY_ZOO_TRAINING_ZIP,
    default_dest,
    extract_archive,
    fetch_kaggle,
)

GALAXY_IDS = (100008, 100023, 100053, 100078, 100090)


def tiny_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (40, 30, 20)).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return path


@pytest.fixture
def kaggle_zip(tmp_path) -> Path:
    """Five JPEGs laid out like Kaggle's images_training_rev1.zip (one top-level folder)."""
    members = {f"images_training_rev1/{galaxy_id}.jpg": tiny_jpeg() for galaxy_id in GALAXY_IDS}
    return write_zip(tmp_path / GALAXY_ZOO_TRAINING_ZIP, members)


@pytest.fixture
def no_credentials(monkeypatch, tmp_path) -> Path:
    """An environment where kaggle 2.x would find no credentials at all; returns HOME."""
    for variable in list(os.environ):
        if variable.startswith("KAGGLE_"):
            monkeypatch.delenv(variable)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    empty_config = tmp_path / "kaggle-config"
    empty_config.mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(empty_config))
    return home


@pytest.fixture
def credentials(no_credentials, monkeypatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "galcolor-test")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef")


class FakeKaggleApi:
    """Stands in for kaggle's KaggleApi: 'downloads' a local zip, or raises."""

    def __init__(self, archive: Path | None = None, error: BaseException | None = None,
                 saved_as: str | None = None):
        self.archive = archive
        self.error = error
        self.saved_as = saved_as
        self.authenticated = False
        self.downloads: list[tuple[str, str, str, bool]] = []

    def authenticate(self) -> None:
        self.authenticated = True

    def competition_download_file(self, competition, file_name, path=None, force=False, quiet=False):
        self.downloads.append((competition, file_name, path, force))
        if self.error is not None:
            raise self.error
        shutil.copy(self.archive, Path(path) / (self.saved_as or file_name))


class ExitingKaggleApi(FakeKaggleApi):
    """KaggleApi.authenticate() in kaggle 2.x prints help and calls exit(1) without credentials."""

    def authenticate(self) -> None:
        print("Authentication required to call the Kaggle API.")
        sys.exit(1)


def http_error(status: int) -> requests.HTTPError:
    """What kagglesdk raises for an HTTP error status (raise_for_status)."""
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Client Error", response=response)


def fetch_without_system_exit(**kwargs) -> Path:
    """fetch_kaggle, failing the test (rather than ending pytest) if SystemExit escapes."""
    try:
        return fetch_kaggle(**kwargs)
    except SystemExit as exit_:  # pragma: no cover - the behaviour under test is that this never happens
        pytest.fail(f"SystemExit({exit_.code}) escaped fetch_kaggle")


# --- credentials -----------------------------------------------------------------------------------


def test_missing_credentials_say_what_to_set_before_contacting_kaggle(no_credentials, tmp_path):
    api = FakeKaggleApi()
    with pytest.raises(DownloadError) as caught:
        fetch_without_system_exit(dest=tmp_path / "data", api=api)
    message = str(caught.value)
    assert "KAGGLE_USERNAME" in message and "KAGGLE_KEY" in message
    assert str(tmp_path / "kaggle-config" / "kaggle.json") in message  # the path actually searched
    assert f"https://www.kaggle.com/competitions/{GALAXY_ZOO_COMPETITION}/rules" in message
    assert not api.authenticated and api.downloads == []


def test_missing_credentials_without_injected_api_never_imports_kaggle(no_credentials, tmp_path, monkeypatch):
    # None in sys.modules makes any import of the client fail loudly: the error
    # must come from the credential check, before that import.
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", None)
    with pytest.raises(DownloadError, match="no Kaggle credentials found"):
        fetch_without_system_exit(dest=tmp_path / "data")


def test_half_set_environment_names_the_missing_variable(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "galcolor-test")
    with pytest.raises(DownloadError, match="KAGGLE_USERNAME is set but KAGGLE_KEY is not"):
        fetch_without_system_exit(dest=tmp_path / "data", api=FakeKaggleApi())


def test_kaggle_json_without_key_is_reported(no_credentials, tmp_path):
    (tmp_path / "kaggle-config" / "kaggle.json").write_text(json.dumps({"username": "galcolor-test"}))
    with pytest.raises(DownloadError, match=r"kaggle\.json \(has no 'key'\)"):
        fetch_without_system_exit(dest=tmp_path / "data", api=FakeKaggleApi())


def write_kaggle_json(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kaggle.json").write_text(json.dumps({"username": "galcolor-test", "key": "0123456789abcdef"}))


def kaggle_json_in_config_dir(home, monkeypatch):
    write_kaggle_json(Path(os.environ["KAGGLE_CONFIG_DIR"]))


def kaggle_json_in_home(home, monkeypatch):
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    write_kaggle_json(home / ".kaggle")


def kaggle_json_in_xdg_config(home, monkeypatch):
    # kaggle 2.x on Linux falls back to ~/.config/kaggle when ~/.kaggle does not exist.
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    monkeypatch.setattr(sys, "platform", "linux")
    write_kaggle_json(home / ".config" / "kaggle")


def access_token_variable(home, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_0123456789abcdef")


def access_token_file(home, monkeypatch):
    (home / ".kaggle").mkdir()
    (home / ".kaggle" / "access_token").write_text("KGAT_0123456789abcdef\n")


def oauth_login(home, monkeypatch):
    (home / ".kaggle").mkdir()
    (home / ".kaggle" / "credentials.json").write_text(json.dumps({"refresh_token": "r", "username": "u"}))


@pytest.mark.parametrize(
    "provide",
    [kaggle_json_in_config_dir, kaggle_json_in_home, kaggle_json_in_xdg_config,
     access_token_variable, access_token_file, oauth_login],
)
def test_every_credential_location_of_kaggle_2_is_accepted(no_credentials, monkeypatch, tmp_path, kaggle_zip,
                                                           provide):
    provide(no_credentials, monkeypatch)
    api = FakeKaggleApi(kaggle_zip)
    folder = fetch_without_system_exit(dest=tmp_path / "data", expected_count=5, api=api)
    assert folder == tmp_path / "data" / "images_training_rev1"
    assert api.authenticated and len(api.downloads) == 1


# --- extract_archive -------------------------------------------------------------------------------


def test_extract_archive_returns_the_folder_of_jpegs(kaggle_zip, tmp_path):
    dest = tmp_path / "extracted"
    folder = extract_archive(kaggle_zip, dest, expected_count=5)
    assert folder == dest / "images_training_rev1"
    assert sorted(path.name for path in folder.iterdir()) == [f"{galaxy_id}.jpg" for galaxy_id in GALAXY_IDS]
    with Image.open(folder / "100008.jpg") as image:  # bytes unzipped intact, not just names
        assert image.size == (4, 4)
    assert [path.name for path in dest.iterdir()] == ["images_training_rev1"]  # no temporary folder left


def test_wrong_count_names_archive_and_both_counts_and_writes_nothing(kaggle_zip, tmp_path):
    dest = tmp_path / "extracted"
    with pytest.raises(DownloadError) as caught:
        extract_archive(kaggle_zip, dest, expected_count=61578)
    message = str(caught.value)
    assert GALAXY_ZOO_TRAINING_ZIP in message
    assert "expected 61578" in message and "found 5" in message
    assert not dest.exists()


def test_extraction_replaces_a_previous_folder_whole(kaggle_zip, tmp_path):
    stale = tmp_path / "extracted" / "images_training_rev1"
    stale.mkdir(parents=True)
    (stale / "stale.jpg").write_bytes(tiny_jpeg())
    folder = extract_archive(kaggle_zip, tmp_path / "extracted", expected_count=5)
    assert not (folder / "stale.jpg").exists()
    assert len(list(folder.glob("*.jpg"))) == 5


@pytest.mark.parametrize(
    "evil_name",
    ["../escaped.jpg", "images_training_rev1/../../escaped.jpg", "/tmp/escaped.jpg", "C:/escaped.jpg",
     "..\\escaped.jpg"],
)
def test_members_leading_outside_dest_are_refused(tmp_path, evil_name):
    archive = write_zip(tmp_path / "evil.zip", {"images_training_rev1/100008.jpg": tiny_jpeg(),
                                                evil_name: tiny_jpeg()})
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(DownloadError, match=r"evil\.zip: refusing to unzip member"):
        extract_archive(archive, dest)
    assert not dest.exists()
    assert not list(tmp_path.rglob("escaped.jpg"))


def test_truncated_archive_is_a_download_error(kaggle_zip, tmp_path):
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(kaggle_zip.read_bytes()[: kaggle_zip.stat().st_size // 2])
    with pytest.raises(DownloadError, match=r"truncated\.zip: cannot unzip .*force=True"):
        extract_archive(truncated, tmp_path / "extracted")


# --- fetch_kaggle with a stand-in client ------------------------------------------------------------


def test_fetch_downloads_unzips_and_returns_the_image_folder(credentials, kaggle_zip, tmp_path):
    dest = tmp_path / "data"
    api = FakeKaggleApi(kaggle_zip)
    folder = fetch_without_system_exit(dest=dest, expected_count=5, api=api)
    assert folder == dest / "images_training_rev1"
    assert len(list(folder.glob("*.jpg"))) == 5
    assert api.downloads == [(GALAXY_ZOO_COMPETITION, GALAXY_ZOO_TRAINING_ZIP, str(dest), False)]
    assert not (dest / GALAXY_ZOO_TRAINING_ZIP).exists()  # the verified archive is deleted


def test_default_dest_honours_galcolor_data(monkeypatch, tmp_path):
    monkeypatch.setenv("GALCOLOR_DATA", str(tmp_path / "galcolor-data"))
    assert default_dest() == tmp_path / "galcolor-data" / "kaggle" / GALAXY_ZOO_COMPETITION


def test_default_dest_is_the_user_cache_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("GALCOLOR_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".cache" / "galcolor" / "kaggle" / "some-competition"
    assert default_dest("some-competition") == expected


def test_fetch_uses_default_dest_when_none_given(credentials, kaggle_zip, tmp_path, monkeypatch):
    monkeypatch.setenv("GALCOLOR_DATA", str(tmp_path / "galcolor-data"))
    folder = fetch_without_system_exit(expected_count=5, api=FakeKaggleApi(kaggle_zip))
    assert folder == default_dest() / "images_training_rev1"


def test_rules_not_accepted_403_says_to_accept_them(credentials, tmp_path):
    with pytest.raises(DownloadError) as caught:
        fetch_without_system_exit(dest=tmp_path / "data", api=FakeKaggleApi(error=http_error(403)))
    message = str(caught.value)
    assert "403" in message and "Accept the competition rules" in message
    assert f"https://www.kaggle.com/competitions/{GALAXY_ZOO_COMPETITION}/rules" in message


def test_rejected_credentials_401_point_at_the_credentials(credentials, tmp_path):
    with pytest.raises(DownloadError, match="rejected the credentials from KAGGLE_USERNAME/KAGGLE_KEY.*401"):
        fetch_without_system_exit(dest=tmp_path / "data", api=FakeKaggleApi(error=http_error(401)))


def test_unknown_file_404_points_at_the_data_page(credentials, tmp_path):
    with pytest.raises(DownloadError, match="404.*/competitions/galaxy-zoo-the-galaxy-challenge/data"):
        fetch_without_system_exit(dest=tmp_path / "data", api=FakeKaggleApi(error=http_error(404)))


def test_unreachable_network_is_a_download_error(credentials, tmp_path):
    refused = requests.ConnectionError("[Errno 101] Network is unreachable")
    with pytest.raises(DownloadError, match="cannot reach Kaggle, the network is unreachable"):
        fetch_without_system_exit(dest=tmp_path / "data", api=FakeKaggleApi(error=refused))


def test_authenticate_calling_exit_becomes_a_download_error(credentials, tmp_path, capsys):
    with pytest.raises(DownloadError, match="could not log in with the credentials from KAGGLE_USERNAME"):
        fetch_without_system_exit(dest=tmp_path / "data", api=ExitingKaggleApi())
    assert capsys.readouterr().out == ""  # kaggle's own login help is replaced by the message


def test_kaggle_package_that_cannot_be_imported_is_a_download_error(credentials, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", None)
    with pytest.raises(DownloadError, match="the kaggle package cannot be imported"):
        fetch_without_system_exit(dest=tmp_path / "data")


# If the timeout ever breaks, the silent server hangs up after this long, so
# the test fails (wrong message) instead of hanging the test suite.
SILENT_SERVER_HANGS_UP_AFTER_S = 10.0


@pytest.fixture
def silent_server():
    """A localhost HTTP port that accepts connections and does not answer."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection = server.accept()[0]
            except OSError:
                continue
            accepted.append(connection)
            hang_up = threading.Timer(SILENT_SERVER_HANGS_UP_AFTER_S, connection.close)
            hang_up.daemon = True
            hang_up.start()

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/images_training_rev1.zip"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


class SilentServerKaggleApi(FakeKaggleApi):
    """Downloads the way kagglesdk does: a requests call with no timeout."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url

    def competition_download_file(self, competition, file_name, path=None, force=False, quiet=False):
        requests.get(self.url)


def test_silent_server_times_out_instead_of_hanging(credentials, tmp_path, silent_server):
    import requests.adapters

    adapter_send = requests.adapters.HTTPAdapter.send
    socket_timeout = socket.getdefaulttimeout()
    # Without galcolor's timeout this request would wait forever; 0.2 s keeps the test quick.
    with pytest.raises(DownloadError, match=r"no answer from Kaggle within 0\.2 s"):
        fetch_without_system_exit(dest=tmp_path / "data", timeout=0.2,
                                  api=SilentServerKaggleApi(silent_server))
    assert requests.adapters.HTTPAdapter.send is adapter_send  # the process-wide patch is undone
    assert socket.getdefaulttimeout() == socket_timeout


def test_kaggle_wrapping_the_zip_in_another_zip_is_undone(credentials, kaggle_zip, tmp_path):
    # Kaggle serves large files zipped under "<name>.zip" (Kaggle/kaggle-cli#158).
    wrapped = write_zip(tmp_path / "wrapped.zip", {GALAXY_ZOO_TRAINING_ZIP: kaggle_zip.read_bytes()})
    dest = tmp_path / "data"
    api = FakeKaggleApi(wrapped, saved_as=GALAXY_ZOO_TRAINING_ZIP + ".zip")
    folder = fetch_without_system_exit(dest=dest, expected_count=5, api=api)
    assert len(list(folder.glob("*.jpg"))) == 5
    assert [path.name for path in dest.iterdir()] == ["images_training_rev1"]


def test_archive_with_wrong_count_is_kept_for_inspection(credentials, kaggle_zip, tmp_path):
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="expected 61578 JPEG images, found 5"):
        fetch_without_system_exit(dest=dest, api=FakeKaggleApi(kaggle_zip))
    assert (dest / GALAXY_ZOO_TRAINING_ZIP).is_file()
    assert not (dest / "images_training_rev1").exists()


@pytest.mark.parametrize(
    "bad_argument",
    [{"name": "../escape"}, {"file_name": "training_solutions_rev1.csv"}, {"timeout": 0},
     {"timeout": float("nan")}, {"expected_count": -1}],
)
def test_invalid_arguments_are_input_errors(tmp_path, bad_argument):
    with pytest.raises(InputError, match=next(iter(bad_argument))):
        fetch_kaggle(dest=tmp_path / "data", api=FakeKaggleApi(), **bad_argument)


# --- idempotence --------------------------------------------------------------------------------------


def test_second_call_finds_the_images_and_downloads_nothing(credentials, kaggle_zip, tmp_path, monkeypatch):
    dest = tmp_path / "data"
    api = FakeKaggleApi(kaggle_zip)
    first = fetch_without_system_exit(dest=dest, expected_count=5, api=api)
    for variable in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(variable)  # offline reuse needs no credentials either
    second = fetch_without_system_exit(dest=dest, expected_count=5, api=api)
    assert second == first
    assert len(api.downloads) == 1


def test_force_downloads_again(credentials, kaggle_zip, tmp_path):
    dest = tmp_path / "data"
    api = FakeKaggleApi(kaggle_zip)
    fetch_without_system_exit(dest=dest, expected_count=5, api=api)
    fetch_without_system_exit(dest=dest, expected_count=5, force=True, api=api)
    assert [download[3] for download in api.downloads] == [False, True]


def test_incomplete_folder_is_fetched_again(credentials, kaggle_zip, tmp_path):
    folder = tmp_path / "data" / "images_training_rev1"
    folder.mkdir(parents=True)
    (folder / "100008.jpg").write_bytes(tiny_jpeg())  # e.g. copied by hand, 1 of 5
    api = FakeKaggleApi(kaggle_zip)
    assert fetch_without_system_exit(dest=tmp_path / "data", expected_count=5, api=api) == folder
    assert len(api.downloads) == 1 and len(list(folder.glob("*.jpg"))) == 5
