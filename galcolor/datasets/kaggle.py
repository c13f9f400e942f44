"""Galaxy Zoo JPEGs from Kaggle: download once, unzip, verify.

The Galaxy Zoo challenge on Kaggle
(https://www.kaggle.com/competitions/galaxy-zoo-the-galaxy-challenge) ships
``images_training_rev1.zip``: 61,578 color JPEGs of SDSS galaxies, 424 x 424
pixels, each named by its GalaxyID. :func:`fetch_kaggle` downloads it with the
``kaggle`` package, unzips it, checks the number of JPEGs and returns the
folder that holds them, ready for an image-folder dataset::

    from galcolor.datasets.kaggle import fetch_kaggle
    folder = fetch_kaggle()  # .../galaxy-zoo-the-galaxy-challenge/images_training_rev1

**Where the data go.** Into ``dest``, by default :func:`default_dest`:
``$GALCOLOR_DATA/kaggle/<competition>`` when the GALCOLOR_DATA environment
variable is set, else ``~/.cache/galcolor/kaggle/<competition>`` (the cache
root follows XDG_CACHE_HOME). The archive ``<dest>/images_training_rev1.zip``
unzips to ``<dest>/images_training_rev1/`` and is deleted once the image count
is verified. A later call finds that folder complete and returns it at once,
without credentials or network.

**Credentials.** Kaggle serves competition files only to a logged-in user
who has accepted the competition's rules. Before contacting Kaggle, galcolor
looks where the ``kaggle`` package (2.x) looks, and fails early, naming what
is missing:

1. an access token: the KAGGLE_API_TOKEN environment variable (the token, or
   the path of a file holding it), or the file ``~/.kaggle/access_token``;
2. an API key: the KAGGLE_USERNAME and KAGGLE_KEY environment variables, or
   ``kaggle.json`` (``{"username": ..., "key": ...}``, from "Create New
   Token" at https://www.kaggle.com/settings) in KAGGLE_CONFIG_DIR if set,
   else in ``~/.kaggle/``; on Linux, when ``~/.kaggle/`` does not exist, in
   ``$XDG_CONFIG_HOME/kaggle/`` (``~/.config/kaggle/``). Environment variables
   win over the file, field by field;
3. the OAuth login saved by ``kaggle auth login`` in
   ``~/.kaggle/credentials.json``.

Then accept the rules once, at
https://www.kaggle.com/competitions/galaxy-zoo-the-galaxy-challenge/rules;
until then Kaggle answers 403 Forbidden.

Every failure (no credentials, rejected credentials, rules not accepted,
unreachable network, a truncated or unexpected archive) is a
:class:`~galcolor.exceptions.DownloadError` whose message says what to fix.

Examples
--------
Unzipping and verifying work offline, on any archive laid out like Kaggle's:

>>> import io, pathlib, tempfile, zipfile
>>> from PIL import Image
>>> work = pathlib.Path(tempfile.mkdtemp())
>>> jpeg = io.BytesIO()
>>> Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
>>> with zipfile.ZipFile(work / "images_training_rev1.zip", "w") as archive:
...     for galaxy_id in (100008, 100023):
...         archive.writestr(f"images_training_rev1/{galaxy_id}.jpg", jpeg.getvalue())
>>> extract_archive(work / "images_training_rev1.zip", work, expected_count=2).name
'images_training_rev1'
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterator, Protocol, Sequence

from tqdm import tqdm

from .._atomic import atomic_write
from ..exceptions import DownloadError, InputError

__all__ = [
    "fetch_kaggle",
    "extract_archive",
    "default_dest",
    "KaggleApiLike",
    "GALAXY_ZOO_COMPETITION",
    "GALAXY_ZOO_TRAINING_ZIP",
    "GALAXY_ZOO_TRAINING_COUNT",
]

GALAXY_ZOO_COMPETITION = "galaxy-zoo-the-galaxy-challenge"
GALAXY_ZOO_TRAINING_ZIP = "images_training_rev1.zip"
# Number of JPEGs in images_training_rev1.zip, one per row of the competition's
# training_solutions_rev1.csv (Kaggle data page of the competition).
GALAXY_ZOO_TRAINING_COUNT = 61578

JPEG_SUFFIXES = (".jpg", ".jpeg")

# Below this many members an archive unzips in about a second: no progress bar.
_PROGRESS_MIN_MEMBERS = 1000

# Competition slugs as Kaggle writes them in URLs; anything else could also
# walk out of ``dest`` ("../x"), so it is refused.
_COMPETITION_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

_KAGGLE_SETTINGS_URL = "https://www.kaggle.com/settings"


class KaggleApiLike(Protocol):
    """What :func:`fetch_kaggle` needs of its ``api``: two methods of kaggle's ``KaggleApi``.

    Any object with these methods can stand in for the real client, e.g. to
    reuse a configured one, or in tests (``tests/test_kaggle.py``).

    See Also
    --------
    fetch_kaggle : Calls ``authenticate()``, then ``competition_download_file``.
    """

    def authenticate(self) -> None:
        """Load credentials; the real client calls ``exit(1)`` when there are none."""

    def competition_download_file(
        self, competition: str, file_name: str, path: str | None = None,
        force: bool = False, quiet: bool = False,
    ) -> None:
        """Save file ``file_name`` of competition ``competition`` in the folder ``path``.

        ``force`` downloads even if an up-to-date copy is there; ``quiet``
        hides progress. Errors are raised (``requests.HTTPError`` for HTTP
        status errors).
        """


def default_dest(name: str = GALAXY_ZOO_COMPETITION) -> Path:
    """Folder where :func:`fetch_kaggle` keeps the files of competition ``name``.

    ``$GALCOLOR_DATA/kaggle/<name>`` when the GALCOLOR_DATA environment variable
    is set, else ``<cache>/galcolor/kaggle/<name>`` with ``<cache>`` the
    XDG_CACHE_HOME environment variable or ``~/.cache``. Read at each call, so
    setting GALCOLOR_DATA later takes effect.

    Parameters
    ----------
    name : str, optional
        Kaggle competition slug, as in its URL.

    Returns
    -------
    pathlib.Path
        The folder; it is not created.

    See Also
    --------
    fetch_kaggle : Downloads into this folder unless given ``dest``.

    Examples
    --------
    >>> default_dest().parts[-2:]
    ('kaggle', 'galaxy-zoo-the-galaxy-challenge')
    """
    _check_competition_name(name)
    data_root = os.environ.get("GALCOLOR_DATA")
    if data_root:
        return Path(data_root).expanduser() / "kaggle" / name
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return cache_root / "galcolor" / "kaggle" / name


def fetch_kaggle(
    name: str = GALAXY_ZOO_COMPETITION,
    dest: str | os.PathLike | None = None,
    *,
    file_name: str = GALAXY_ZOO_TRAINING_ZIP,
    expected_count: int | None = GALAXY_ZOO_TRAINING_COUNT,
    timeout: float = 60.0,
    force: bool = False,
    api: KaggleApiLike | None = None,
) -> Path:
    """Download a zip of JPEGs from a Kaggle competition, unzip it, verify it.

    By default this fetches the 61,578 Galaxy Zoo training images (424 x 424
    JPEGs). When ``<dest>/<archive name without .zip>`` already
    holds ``expected_count`` JPEGs, it is returned at once: no credentials,
    no network.

    Parameters
    ----------
    name : str, optional
        Competition slug, as in ``https://www.kaggle.com/competitions/<name>``.
    dest : str or os.PathLike, optional
        Folder for the archive and its contents; by default
        :func:`default_dest` ``(name)``. Created if needed.
    file_name : str, optional
        The competition file to fetch; must be a ``.zip`` archive.
    expected_count : int or None, optional
        Number of JPEGs (``.jpg``/``.jpeg``) the archive must hold; ``None``
        accepts any number.
    timeout : float, optional
        Seconds any single connection attempt or read from Kaggle may wait
        before the download fails (see Notes).
    force : bool, optional
        Download and unzip again even if the images are already there.
    api : KaggleApiLike, optional
        The Kaggle client to use; by default a new
        ``kaggle.api.kaggle_api_extended.KaggleApi``, imported on first use.
        Pass your own to reuse a configured client, or a stand-in in tests.

    Returns
    -------
    pathlib.Path
        The folder holding the JPEGs, e.g. ``<dest>/images_training_rev1``.

    Raises
    ------
    DownloadError
        No credentials (the message lists where they were looked for);
        credentials rejected (HTTP 401); competition rules not accepted (HTTP
        403); no such competition or file (HTTP 404); network unreachable or
        silent for ``timeout`` seconds; an archive that is corrupt, holds
        unsafe paths or the wrong number of JPEGs.
    InputError
        ``name``, ``file_name``, ``expected_count`` or ``timeout`` is invalid.

    See Also
    --------
    extract_archive : The unzip-and-verify step, usable on its own.
    default_dest : The default ``dest``.

    Notes
    -----
    Importing ``kaggle`` logs in as a side effect and ``KaggleApi.authenticate``
    calls ``exit(1)`` when it finds no credentials, so galcolor checks the
    credential locations listed in the module docstring first, imports the
    client only inside this function, and turns any exception or
    ``SystemExit`` from it into a :class:`DownloadError`.

    The kaggle client sends its requests without a timeout, and ``requests``
    then blocks on a silent server regardless of
    :func:`socket.setdefaulttimeout`. So for the duration of the call, every
    ``requests`` transfer in this process waits at most ``timeout`` seconds
    per connection attempt or read, and the socket default timeout is
    ``timeout``; both are restored afterwards. The kaggle client retries a
    broken transfer up to 5 times, resuming, so a dead network fails after
    roughly 6 x ``timeout`` plus about a minute of back-off.

    The skip test looks for the folder named after the archive, as in
    Kaggle's image archives (``images_training_rev1.zip`` holds
    ``images_training_rev1/``). An archive laid out otherwise is still
    unzipped and verified, but is downloaded again on every call.

    Examples
    --------
    >>> from galcolor.datasets.kaggle import fetch_kaggle
    >>> folder = fetch_kaggle()  # doctest: +SKIP

    Images already in place are returned without contacting Kaggle:

    >>> import pathlib, tempfile
    >>> from PIL import Image
    >>> dest = pathlib.Path(tempfile.mkdtemp())
    >>> (dest / "images_training_rev1").mkdir()
    >>> for galaxy_id in (100008, 100023, 100053):
    ...     Image.new("RGB", (8, 8)).save(dest / "images_training_rev1" / f"{galaxy_id}.jpg")
    >>> fetch_kaggle(dest=dest, expected_count=3) == dest / "images_training_rev1"
    True
    """
    _check_competition_name(name)
    archive_name = PurePosixPath(file_name).name  # Kaggle saves sub-folder files under their base name
    if not archive_name.lower().endswith(".zip"):
        raise InputError(f"file_name: expected a .zip archive, got {file_name!r}")
    if expected_count is not None and (isinstance(expected_count, bool) or expected_count < 0):
        raise InputError(f"expected_count: expected None or a count >= 0, got {expected_count!r}")
    if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise InputError(f"timeout: expected a positive number of seconds, got {timeout!r}")

    dest = default_dest(name) if dest is None else Path(dest).expanduser()
    image_folder = dest / archive_name[: -len(".zip")]
    if not force and _holds_expected_jpegs(image_folder, expected_count):
        return image_folder

    credentials = _find_credentials(name)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with _network_timeout(timeout):
            if api is None:
                api = _new_kaggle_api(credentials)
            # The import and authenticate() print Kaggle's login help on stdout;
            # galcolor's own message says the same, with the paths it checked.
            with contextlib.redirect_stdout(io.StringIO()):
                api.authenticate()
            api.competition_download_file(name, file_name, path=str(dest), force=force, quiet=False)
    except (Exception, SystemExit) as error:  # SystemExit: authenticate() calls exit(1)
        raise DownloadError(_explain_failure(error, name, file_name, credentials, timeout)) from error

    archive = _downloaded_archive(dest, archive_name)
    folder = extract_archive(archive, dest, expected_count=expected_count)
    archive.unlink()  # verified and unzipped; the JPEGs are the data
    return folder


def extract_archive(
    zip_path: str | os.PathLike, dest: str | os.PathLike, *, expected_count: int | None = None
) -> Path:
    """Unzip ``zip_path`` into ``dest`` atomically and return the folder of JPEGs.

    Nothing is written unless the archive is safe and holds ``expected_count``
    JPEGs. Members are unzipped into a temporary folder inside ``dest`` and
    then each top-level entry is renamed into place, replacing an existing
    entry of the same name. An archive with a single top-level folder (as
    Kaggle's are) therefore appears in one rename: a reader sees the old
    folder, no folder, or the complete new one, never a partial one.

    Parameters
    ----------
    zip_path : str or os.PathLike
        The ``.zip`` archive.
    dest : str or os.PathLike
        Folder to unzip into; created if needed.
    expected_count : int or None, optional
        Number of ``.jpg``/``.jpeg`` files the archive must hold, in any
        folder; ``None`` accepts any number.

    Returns
    -------
    pathlib.Path
        The deepest folder under ``dest`` that contains every JPEG of the
        archive (``dest`` itself if the archive has JPEGs at its top level).

    Raises
    ------
    DownloadError
        The archive is missing, corrupt or truncated; a member has an
        absolute path or ``..`` (it would be written outside ``dest``); or
        the JPEG count differs from ``expected_count``. The message names the
        archive, and for a count mismatch both counts.

    See Also
    --------
    fetch_kaggle : Downloads an archive from Kaggle, then calls this.

    Examples
    --------
    >>> import io, pathlib, tempfile, zipfile
    >>> from PIL import Image
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> jpeg = io.BytesIO()
    >>> Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    >>> with zipfile.ZipFile(work / "images_training_rev1.zip", "w") as archive:
    ...     for galaxy_id in (100008, 100023, 100053):
    ...         archive.writestr(f"images_training_rev1/{galaxy_id}.jpg", jpeg.getvalue())
    >>> archive = work / "images_training_rev1.zip"
    >>> folder = extract_archive(archive, work, expected_count=3)
    >>> folder == work / "images_training_rev1"
    True
    >>> sorted(path.name for path in folder.iterdir())
    ['100008.jpg', '100023.jpg', '100053.jpg']

    A count mismatch names both counts and leaves ``dest`` as it was:

    >>> extract_archive(archive, work / "other", expected_count=61578)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    galcolor.exceptions.DownloadError: .../images_training_rev1.zip: expected 61578 JPEG images, found 3; ...
    """
    archive_path = Path(zip_path)
    dest = Path(dest)
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = archive.infolist()
            _refuse_unsafe_members(archive_path, [member.filename for member in members])
            jpeg_names = [member.filename for member in members
                          if not member.is_dir() and _is_jpeg(member.filename)]
            if expected_count is not None and len(jpeg_names) != expected_count:
                raise DownloadError(
                    f"{archive_path}: expected {expected_count} JPEG images, found {len(jpeg_names)}; "
                    "the download is incomplete or not the expected file "
                    "(delete it and fetch again with force=True)"
                )
            dest.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{archive_path.name}.unzipping-", dir=dest))
            try:
                progress = tqdm(
                    members,
                    desc=f"Unzipping {archive_path.name}",
                    unit="file",
                    # None: shown on a terminal only, so logs stay clean.
                    disable=True if len(members) < _PROGRESS_MIN_MEMBERS else None,
                )
                for member in progress:
                    archive.extract(member, staging)
                for entry in list(staging.iterdir()):
                    _move_into_place(entry, dest / entry.name)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except DownloadError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        # zlib errors and CRC mismatches surface as BadZipFile or EOFError.
        raise DownloadError(
            f"{archive_path}: cannot unzip ({type(error).__name__}: {error}); the download is truncated "
            "or corrupt (delete it and fetch again with force=True)"
        ) from error
    return dest.joinpath(*_common_folder(jpeg_names))


def _check_competition_name(name: str) -> None:
    if not isinstance(name, str) or not _COMPETITION_SLUG.fullmatch(name):
        raise InputError(
            f"name: expected a Kaggle competition slug such as {GALAXY_ZOO_COMPETITION!r}, got {name!r}"
        )


def _is_jpeg(member_name: str) -> bool:
    return PurePosixPath(member_name).suffix.lower() in JPEG_SUFFIXES


def _holds_expected_jpegs(folder: Path, expected_count: int | None) -> bool:
    """Whether ``folder`` is a finished extraction (it only appears complete, by rename)."""
    if not folder.is_dir():
        return False
    count = sum(1 for path in folder.iterdir() if path.suffix.lower() in JPEG_SUFFIXES)
    return count > 0 if expected_count is None else count == expected_count


def _refuse_unsafe_members(archive_path: Path, member_names: Sequence[str]) -> None:
    """Raise if a member would be written outside the extraction folder ("zip slip")."""
    for member_name in member_names:
        posix = PurePosixPath(member_name.replace("\\", "/"))
        if posix.is_absolute() or ".." in posix.parts or PureWindowsPath(member_name).drive:
            raise DownloadError(
                f"{archive_path}: refusing to unzip member {member_name!r}, its path leads outside the "
                "destination folder (absolute or containing '..'); the archive is not a Kaggle original"
            )


def _common_folder(member_names: Sequence[str]) -> tuple[str, ...]:
    """Path parts of the deepest folder containing every member; () for the top level."""
    folders = [PurePosixPath(name).parent.parts for name in member_names]
    if not folders:
        return ()
    common = folders[0]
    for parts in folders[1:]:
        length = 0
        while length < min(len(common), len(parts)) and common[length] == parts[length]:
            length += 1
        common = common[:length]
    return common


def _move_into_place(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, replacing a file or a whole folder."""
    if target.is_dir() and not target.is_symlink():
        # os.replace cannot overwrite a non-empty folder: move the old one aside first.
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.replaced-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(source, target)


def _kaggle_json_path() -> Path:
    """Where kaggle 2.x reads kaggle.json (``KaggleApi.config_dir``), computed now.

    KaggleApi computes this once, when its module is imported; galcolor reads
    the environment at each call and hands the result to the client.
    """
    config_dir = os.environ.get("KAGGLE_CONFIG_DIR")
    if config_dir:
        return Path(config_dir) / "kaggle.json"
    legacy_dir = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not legacy_dir.exists():
        xdg_config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return xdg_config / "kaggle" / "kaggle.json"
    return legacy_dir / "kaggle.json"


def _find_credentials(name: str) -> str:
    """Where Kaggle credentials are (for messages), or DownloadError saying what is missing.

    Mirrors ``KaggleApi.authenticate`` in kaggle 2.x: access token, then API
    key, then OAuth login. Only checks that they exist; Kaggle judges them.
    """
    kaggle_home = Path.home() / ".kaggle"
    # Inside a Kaggle notebook the platform provides a token file.
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") and os.environ.get("KAGGLE_API_V1_TOKEN"):
        return "KAGGLE_API_V1_TOKEN (Kaggle notebook)"
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    for token_file in (kaggle_home / "access_token", kaggle_home / "access_token.txt"):
        if _read_text(token_file).strip():
            return str(token_file)

    config_file = _kaggle_json_path()
    file_fields: dict[str, str] = {}
    file_problem = "not found"
    if config_file.is_file():
        try:
            loaded = json.loads(_read_text(config_file) or "null")
            file_fields = {field: loaded[field] for field in ("username", "key") if loaded.get(field)}
            missing = [field for field in ("username", "key") if field not in file_fields]
            file_problem = f"has no {' or '.join(repr(field) for field in missing)}" if missing else ""
        except (ValueError, AttributeError):
            file_problem = 'is not JSON of the form {"username": ..., "key": ...}'
    username = os.environ.get("KAGGLE_USERNAME") or file_fields.get("username")
    key = os.environ.get("KAGGLE_KEY") or file_fields.get("key")
    if username and key:
        if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
            return "KAGGLE_USERNAME/KAGGLE_KEY"
        return str(config_file)

    oauth_file = kaggle_home / "credentials.json"
    if '"refresh_token"' in _read_text(oauth_file):
        return str(oauth_file)

    set_variables = [variable for variable in ("KAGGLE_USERNAME", "KAGGLE_KEY") if os.environ.get(variable)]
    if len(set_variables) == 1:
        unset = "KAGGLE_KEY" if set_variables == ["KAGGLE_USERNAME"] else "KAGGLE_USERNAME"
        variables_state = f"{set_variables[0]} is set but {unset} is not"
    else:
        variables_state = "neither is set"
    # Point at ~/.kaggle/kaggle.json, the documented place, even when kaggle
    # would read ~/.config/kaggle/ today: creating ~/.kaggle makes it win.
    suggested_file = config_file if os.environ.get("KAGGLE_CONFIG_DIR") else kaggle_home / "kaggle.json"
    file_state = f"{config_file} ({file_problem})"
    if suggested_file != config_file:
        file_state = f"{suggested_file} (not found) or {file_state}"
    raise DownloadError(
        f"Kaggle competition {name!r}: no Kaggle credentials found. Provide one of:\n"
        f"  - the environment variables KAGGLE_USERNAME and KAGGLE_KEY ({variables_state});\n"
        f"  - a kaggle.json file at {file_state}, holding "
        f'{{"username": ..., "key": ...}} from "Create New Token" at {_KAGGLE_SETTINGS_URL} '
        "(KAGGLE_CONFIG_DIR moves it);\n"
        f"  - an access token in KAGGLE_API_TOKEN or {kaggle_home / 'access_token'};\n"
        "  - a login saved by `kaggle auth login`.\n"
        f"Then accept the competition rules at https://www.kaggle.com/competitions/{name}/rules, "
        "or Kaggle answers 403 Forbidden."
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return ""


def _new_kaggle_api(credentials: str) -> KaggleApiLike:
    """A KaggleApi, imported here: importing ``kaggle`` logs in as a side effect."""
    with contextlib.redirect_stdout(io.StringIO()):
        from kaggle.api.kaggle_api_extended import KaggleApi
    api = KaggleApi()
    if credentials.endswith("kaggle.json"):
        # KaggleApi fixed its kaggle.json location at import; use the one found now.
        api.config_dir = str(Path(credentials).parent)
        api.config = credentials
    return api


@contextlib.contextmanager
def _network_timeout(seconds: float) -> Iterator[None]:
    """Make every socket and ``requests`` transfer wait at most ``seconds`` per step.

    kagglesdk sends its requests with ``timeout=None``, which ``requests``
    passes down to the socket, overriding :func:`socket.setdefaulttimeout`: a
    silent server would hang the call forever. So ``HTTPAdapter.send`` is
    wrapped to cap its timeout, and both are restored on exit.
    """
    import requests.adapters

    adapter_send = requests.adapters.HTTPAdapter.send

    def send_with_timeout(adapter, request, stream=False, timeout=None, **kwargs):
        if timeout is None or (isinstance(timeout, (int, float)) and timeout > seconds):
            timeout = seconds
        return adapter_send(adapter, request, stream=stream, timeout=timeout, **kwargs)

    socket_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    requests.adapters.HTTPAdapter.send = send_with_timeout  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        requests.adapters.HTTPAdapter.send = adapter_send  # type: ignore[method-assign]
        socket.setdefaulttimeout(socket_timeout)


def _http_status(error: BaseException) -> int | None:
    """HTTP status of a failed request: requests' HTTPError, or kaggle 1.x ApiException."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status is None:
        status = getattr(error, "status", None)
    return status if isinstance(status, int) else None


def _is_timeout(error: BaseException | None) -> bool:
    """Whether ``error`` or an error it wraps is a timeout.

    A read that times out mid-download reaches the caller as requests'
    ConnectionError wrapping urllib3's ReadTimeoutError. (Not urllib3's
    TimeoutError as a whole: a failed DNS lookup is one of its subclasses.)
    """
    import requests
    import urllib3

    timeouts = (TimeoutError, requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError)
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, timeouts) or any(isinstance(argument, timeouts) for argument in error.args):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _explain_failure(
    error: BaseException, name: str, file_name: str, credentials: str, timeout: float
) -> str:
    """The DownloadError message for an error raised while logging in to or downloading from Kaggle."""
    what = f"Kaggle competition {name!r}, file {file_name!r}"
    if isinstance(error, ImportError):
        missing_module = error.name if isinstance(error, ModuleNotFoundError) else None
        install = f" (pip install {missing_module})" if missing_module else ""
        return f"{what}: the kaggle package cannot be imported: {error}{install}"
    if isinstance(error, SystemExit):
        return (
            f"{what}: the kaggle package could not log in with the credentials from {credentials}; "
            f"they may be expired or incomplete (create a new token at {_KAGGLE_SETTINGS_URL})"
        )
    status = _http_status(error)
    if status == 401:
        return (
            f"{what}: Kaggle rejected the credentials from {credentials} (HTTP 401 Unauthorized); check "
            f"KAGGLE_USERNAME/KAGGLE_KEY or kaggle.json, or create a new token at {_KAGGLE_SETTINGS_URL}"
        )
    if status == 403:
        return (
            f"{what}: Kaggle refused the download (HTTP 403 Forbidden). Accept the competition rules at "
            f"https://www.kaggle.com/competitions/{name}/rules, logged in as the user of the credentials "
            f"from {credentials}, then call again"
        )
    if status == 404:
        return (
            f"{what}: Kaggle has no such competition or file (HTTP 404 Not Found); see the file names at "
            f"https://www.kaggle.com/competitions/{name}/data"
        )
    if status is not None:
        return f"{what}: Kaggle answered HTTP {status}: {error}"
    if _is_timeout(error):
        return (
            f"{what}: no answer from Kaggle within {timeout:g} s; the network is unreachable or too slow "
            "(check the connection, or pass a larger timeout)"
        )
    if isinstance(error, OSError):  # requests' ConnectionError, DNS failures, refused connections
        return f"{what}: cannot reach Kaggle, the network is unreachable ({type(error).__name__}: {error})"
    return f"{what}: the download failed ({type(error).__name__}: {error})"


def _downloaded_archive(dest: Path, archive_name: str) -> Path:
    """The archive the kaggle client saved in ``dest``, unwrapped if Kaggle zipped it again."""
    archive = dest / archive_name
    if archive.is_file():
        return archive
    # Kaggle serves large files inside a zip named after the request
    # ("creditcard.csv" arrives as "creditcard.csv.zip"; Kaggle/kaggle-cli#158,
    # tensorflow/datasets#1877), so a zip may arrive as "<name>.zip.zip".
    wrapped = dest / f"{archive_name}.zip"
    if not wrapped.is_file():
        present = sorted(path.name for path in dest.iterdir())
        raise DownloadError(
            f"{archive}: the kaggle client reported success but saved no such file; {dest} holds {present}"
        )
    try:
        with zipfile.ZipFile(wrapped) as wrapper:
            if wrapper.namelist() != [archive_name]:
                return wrapped  # the contents themselves, zipped under another name
            with wrapper.open(archive_name) as inner, atomic_write(archive) as temporary:
                with open(temporary, "wb") as copy:
                    shutil.copyfileobj(inner, copy)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DownloadError(
            f"{wrapped}: cannot unzip ({type(error).__name__}: {error}); the download is truncated "
            "or corrupt (delete it and fetch again with force=True)"
        ) from error
    wrapped.unlink()
    return archive
