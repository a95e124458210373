--- Quoting for the shell commands nnlab builds (gnuplot, sbatch).
local shell = {}

--- s as one single-quoted shell word.
function shell.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The nnlab command of the installation at root (what main.c calls the
-- root: the folder above the executable's): root/build/nnlab in a clone,
-- root/bin/nnlab installed (make install, luarocks).
function shell.nnlab_command(root)
  local f = io.open(root .. "/build/nnlab", "rb")
  if f then
    f:close()
    return root .. "/build/nnlab"
  end
  return root .. "/bin/nnlab"
end

return shell
