--- Quoting for the shell commands nnlab builds (gnuplot, xargs, sbatch).
local shell = {}

--- s as one single-quoted shell word.
function shell.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

return shell
