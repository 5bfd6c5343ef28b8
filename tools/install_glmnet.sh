#!/usr/bin/env bash
# Builds python-glmnet 2.2.1 (glmnet's Fortran) into the active Python environment.
# Its sdist only builds with numpy.distutils (gone in numpy 2), so the extension is compiled with
# f2py's meson backend and the pure-Python package copied beside it. The test suite compares
# penalized against it (tests skip without it); CI runs this script.
set -euo pipefail
URL=https://files.pythonhosted.org/packages/6f/e5/5f60a59da4840202837c07335e92a6f041952e446847d966bd21da72a95d/glmnet-2.2.1.tar.gz
SHA256=3222bca2e901b3f60c2dc22df7aeba6bb9c7b6451b44cbbe1b91084b66f14481
if python -c "import glmnet" 2>/dev/null; then exit 0; fi
if ! command -v gfortran >/dev/null 2>&1; then
    SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends gfortran
fi
python -m pip install -q meson ninja
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
curl -sSL "$URL" -o "$work/glmnet.tar.gz"
echo "$SHA256  $work/glmnet.tar.gz" | sha256sum -c --quiet
tar xzf "$work/glmnet.tar.gz" -C "$work"
cd "$work/glmnet-2.2.1"
python -m numpy.f2py -c glmnet/_glmnet.pyf glmnet/src/glmnet/glmnet5.f90 --backend meson \
    --f90flags="-ffixed-form -fdefault-real-8" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
site=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
# pkg_resources is gone from recent setuptools: the package only used it for its version string
sed -i 's/^import pkg_resources$//; s/pkg_resources.get_distribution("glmnet").version/"2.2.1"/' glmnet/__init__.py
cp -r glmnet "$site/" && cp _glmnet*.so "$site/"
python -c "import glmnet; print('python-glmnet', glmnet.__version__, 'installed')"
