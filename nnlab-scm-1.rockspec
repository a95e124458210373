-- luarocks --lua-version 5.4 make [--tree DIR]: builds with the project's
-- Makefile and installs the engine (nnlab.so), the Lua modules, the nnlab
-- command and the vendored MNIST (beside the modules, where nn.mnist() looks).
-- Nothing is downloaded: the external dependencies are Debian packages
-- (libopenblas-dev, zlib1g-dev, libpng-dev; .ci/install-deps.sh installs them).
rockspec_format = "3.0"
package = "nnlab"
version = "scm-1"
source = {
  -- No public home yet: `luarocks make` builds from this folder and fetches nothing.
  url = "git+file://.",
}
description = {
  summary = "A C engine for small neural networks, driven from Lua 5.4",
  detailed = [[
Layers, losses, SGD, MNIST datasets, training loops and gradient checks in C
(float32, OpenBLAS), with a Lua API (require "nnlab"), experiment grids with
checkpoints, and the nnlab command (run, collect, plot, predict).
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
  -- lua-argparse and lua-filesystem: from Debian (lua-argparse, lua-filesystem)
  -- or from luarocks (argparse, luafilesystem); not listed, so that an offline
  -- `luarocks make` over Debian's packages needs no rocks server.
}
external_dependencies = {
  OPENBLAS = {library = "openblas"},
  ZLIB = {header = "zlib.h"},
  PNG = {header = "png.h"},
}
build = {
  type = "make",
  -- The Makefile's own flags (-O3, OpenMP, strict warnings), not luarocks' CFLAGS.
  build_variables = {LUA_INC = "$(LUA_INCDIR)"},
  install_variables = {
    PREFIX = "$(PREFIX)",
    BINDIR = "$(BINDIR)",
    LUA_CDIR = "$(LIBDIR)",
    LUA_LDIR = "$(LUADIR)",
    DATADIR = "$(LUADIR)/nnlab",
    MANDIR = "$(PREFIX)/man/man1",
  },
}
