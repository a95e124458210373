--- Grids as Slurm job arrays: one task per grid point running
-- `nnlab run EXP --point $SLURM_ARRAY_TASK_ID`, and a collect job that
-- depends on the array (afterany) and rebuilds the summary and plots.
local atomic = require("nnlab.atomic")

local slurm = {}

local shell = require("nnlab.shell")
local q = shell.quote

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local pwd = os.getenv("PWD") or io.popen("pwd"):read("l")
  return pwd .. "/" .. path:gsub("^%./", "")
end
slurm.absolute = absolute

--- The run command shared by the tasks (without --point).
local function run_args(o)
  local args = {"run", q(absolute(o.experiment)), "--out", q(absolute(o.out)), "--quiet"}
  for _, s in ipairs(o.set) do args[#args + 1] = "--set " .. q(s) end
  if o.quick then args[#args + 1] = "--quick" end
  if o.repeats then args[#args + 1] = "--repeats " .. math.tointeger(o.repeats) end
  return table.concat(args, " ")
end

-- An #SBATCH line is read by sbatch, not the shell: a path in it is written
-- in double quotes with each '%' doubled (Slurm expands %j and the like in
-- file names, %% is a '%'); a path holding '"', '\\' or a control character is
-- refused. The script body, where shell quoting holds, changes to the folder
-- nnlab slurm was run in. Other names come from rundir (safe characters only).
local function sbatch_path(path, pattern)
  if path:find('[%c"\\]') then
    error(("%s: a path for sbatch cannot hold a double quote, a backslash or a control character"):format(path), 0)
  end
  return '"' .. path:gsub("%%", "%%%%") .. pattern .. '"'
end

local function header(o, name, lines)
  local h = {"#!/bin/bash", "# Written by nnlab slurm; submit with sbatch " .. name .. ".sbatch"}
  for _, l in ipairs(lines) do h[#h + 1] = "#SBATCH " .. l end
  if o.partition then h[#h + 1] = "#SBATCH --partition=" .. o.partition end
  for _, a in ipairs(o.sbatch_arg) do h[#h + 1] = "#SBATCH " .. a end
  for _, l in ipairs(h) do
    if l:find("%c") then error(("an #SBATCH line cannot hold a control character: %q"):format(l), 0) end
  end
  return h
end

--- The `nnlab slurm` command that chooses rung k's survivors and submits
-- the next rung (successive halving), with the options it was given.
local function after_rung_args(o, k)
  local args = {"slurm", q(absolute(o.experiment)), "--out", q(absolute(o.out))}
  for _, s in ipairs(o.set) do args[#args + 1] = "--set " .. q(s) end
  if o.quick then args[#args + 1] = "--quick" end
  if o.repeats then args[#args + 1] = "--repeats " .. math.tointeger(o.repeats) end
  for _, opt in ipairs{"partition", "time", "mem"} do
    if o[opt] then args[#args + 1] = "--" .. opt .. " " .. q(o[opt]) end
  end
  args[#args + 1] = "--cpus-per-task " .. math.tointeger(o.cpus_per_task)
  args[#args + 1] = "--max-parallel " .. math.tointeger(o.max_parallel)
  for _, a in ipairs(o.sbatch_arg) do args[#args + 1] = "--sbatch-arg=" .. q(a) end
  args[#args + 1] = "--after-rung " .. math.tointeger(k) .. " --submit"
  return table.concat(args, " ")
end

--- Writes NAME.sbatch (the array) and NAME-collect.sbatch into dir (NAME:
-- the grid's folder name). With successive halving (o.rung = k), the array
-- is NAME-rungK.sbatch over the points o.array ("0,4,7") trained to rung k,
-- and before the last rung the job after it is NAME-chooseK.sbatch, which
-- runs `nnlab slurm ... --after-rung K --submit`: it picks the survivors
-- and submits the next rung, so no driver process waits meanwhile.
function slurm.write_scripts(o, exp, npoints, dir)
  local nnlab = absolute(shell.nnlab_command(o.root))
  local base = o.grid or exp.name
  local name = base .. (o.rung and ("-rung%d"):format(o.rung) or "")
  local griddir = absolute(o.out) .. "/" .. base
  local cwd = absolute(".")
  local lines = {
    "--job-name=nnlab-" .. name,
    ("--array=%s%%%d"):format(o.array or ("0-%d"):format(npoints - 1), o.max_parallel),
    "--output=" .. sbatch_path(dir .. "/" .. name, "-%A_%a.log"),
    "--open-mode=append",
    "--cpus-per-task=" .. o.cpus_per_task,
    "--requeue",
  }
  if o.time then lines[#lines + 1] = "--time=" .. o.time end
  if o.mem then lines[#lines + 1] = "--mem=" .. o.mem end
  local array = header(o, name, lines)
  for _, l in ipairs{
    "# Each task runs one grid point; a point run before is reused, an interrupted one continues",
    "# from its checkpoint. Stopped by the scheduler (SIGTERM at the time limit or on preemption),",
    "# nnlab writes a checkpoint and exits 130, and the task requeues itself.",
    "trap '' TERM",
    "export NNLAB_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    "cd " .. q(cwd) .. " || exit 1",
    q(nnlab) .. " " .. run_args(o) .. ' --point "$SLURM_ARRAY_TASK_ID"'
      .. (o.rung and (" --rung %d"):format(o.rung) or ""),
    "status=$?",
    'if [ "$status" -eq 130 ]; then',
    '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    "fi",
    'exit "$status"',
  } do array[#array + 1] = l end
  local follow = (o.rung and o.rung < o.rungs) and ("%s-choose%d"):format(base, o.rung) or base .. "-collect"
  local collect = header(o, follow, {
    "--job-name=nnlab-" .. follow,
    "--output=" .. sbatch_path(dir .. "/" .. follow, "-%j.log"),
    "--cpus-per-task=1",
  })
  if o.rung and o.rung < o.rungs then
    collect[#collect + 1] = "cd " .. q(cwd) .. " || exit 1"
    collect[#collect + 1] = q(nnlab) .. " " .. after_rung_args(o, o.rung)
  else
    collect[#collect + 1] = q(nnlab) .. " collect " .. q(griddir)
  end
  local array_path = dir .. "/" .. name .. ".sbatch"
  local collect_path = dir .. "/" .. follow .. ".sbatch"
  atomic.write(array_path, table.concat(array, "\n") .. "\n")
  atomic.write(collect_path, table.concat(collect, "\n") .. "\n")
  os.execute("chmod +x " .. q(array_path) .. " " .. q(collect_path))
  return array_path, collect_path
end

local function sbatch(args)
  local p = io.popen("sbatch --parsable " .. args .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  local id = out:match("^(%d+)")
  if not ok or not id then return nil, "sbatch failed: " .. out:gsub("%s+$", "") end
  return id
end

--- Submits the array, then the collect job after it; --wait blocks on the
-- collect job. Returns array id, collect id, or nil and a message.
function slurm.submit(array_path, collect_path, wait)
  local array_id, err = sbatch(q(array_path))
  if not array_id then return nil, err end
  local collect_args = ("--dependency=afterany:%s %s%s"):format(array_id, wait and "--wait " or "", q(collect_path))
  local collect_id
  collect_id, err = sbatch(collect_args)
  if not collect_id then return nil, err end
  return array_id, collect_id
end

return slurm
