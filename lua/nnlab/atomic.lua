--- Files written whole or not at all: each write goes to a temporary file
-- beside its target, named NAME.tmp.XXXXXX and unique to that write, which is
-- flushed and renamed over NAME. A failed write names the path and leaves the
-- earlier file; a write killed before its rename leaves only the temporary,
-- which remove_stale deletes for the folder's owner.
local lfs = require("lfs")
local core = require("nnlab.core")

local atomic = {}

--- Writes text to path atomically; raises "PATH: cannot write (reason)".
function atomic.write(path, text)
  local ok, err = core.write_file(path, text)
  if not ok then error(err, 2) end
end

--- As write, but returns nil, message on failure.
function atomic.try_write(path, text)
  return core.write_file(path, text)
end

local count = 0

--- A temporary name beside path for a file another program writes (such as
-- gnuplot's PNG): unique to this process and host, and to this call.
function atomic.temp_name(path)
  count = count + 1
  return ("%s.tmp.%x%x%d"):format(path, core.crc32(core.hostname()), core.getpid(), count)
end

--- Whether a file name is one of these temporaries.
function atomic.is_temp(name)
  return name:match("%.tmp%.%w+$") ~= nil
end

--- Removes the temporaries left in dir by writes that were killed. Only the
-- folder's owner may call it (the holder of its lock): another process's
-- write in progress would lose its file. Returns the names removed.
function atomic.remove_stale(dir)
  local removed = {}
  if lfs.symlinkattributes(dir, "mode") ~= "directory" then return removed end
  for entry in lfs.dir(dir) do
    if atomic.is_temp(entry) and lfs.symlinkattributes(dir .. "/" .. entry, "mode") == "file" then
      if os.remove(dir .. "/" .. entry) then removed[#removed + 1] = entry end
    end
  end
  table.sort(removed)
  return removed
end

return atomic
