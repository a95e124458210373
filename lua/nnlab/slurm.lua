--- Grids as Slurm job arrays: one task per grid point running
-- `nnlab run EXP --point $SLURM_ARRAY_TASK_ID`, and a collect job that
-- depends on the array (afterany) and rebuilds the summary and plots.
local tsv = require("nnlab.tsv")

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
  return table.concat(args, " ")
end

local function header(o, name, lines)
  local h = {"#!/bin/bash", "# Written by nnlab slurm; submit with sbatch " .. name .. ".sbatch"}
  for _, l in ipairs(lines) do h[#h + 1] = "#SBATCH " .. l end
  if o.partition then h[#h + 1] = "#SBATCH --partition=" .. o.partition end
  for _, a in ipairs(o.sbatch_arg) do h[#h + 1] = "#SBATCH " .. a end
  return h
end

--- Writes NAME.sbatch (the array) and NAME-collect.sbatch into dir.
function slurm.write_scripts(o, exp, npoints, dir)
  local nnlab = absolute(shell.nnlab_command(o.root))
  local griddir = absolute(o.out) .. "/" .. exp.name
  local lines = {
    "--job-name=nnlab-" .. exp.name,
    ("--array=0-%d%%%d"):format(npoints - 1, o.max_parallel),
    "--output=" .. dir .. "/" .. exp.name .. "-%A_%a.log",
    "--open-mode=append",
    "--cpus-per-task=" .. o.cpus_per_task,
    "--requeue",
  }
  if o.time then lines[#lines + 1] = "--time=" .. o.time end
  if o.mem then lines[#lines + 1] = "--mem=" .. o.mem end
  local array = header(o, exp.name, lines)
  for _, l in ipairs{
    "# Each task runs one grid point; a point run before is reused, an interrupted one continues",
    "# from its checkpoint. Stopped by the scheduler (SIGTERM at the time limit or on preemption),",
    "# nnlab writes a checkpoint and exits 130, and the task requeues itself.",
    "trap '' TERM",
    "export NNLAB_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    q(nnlab) .. " " .. run_args(o) .. ' --point "$SLURM_ARRAY_TASK_ID"',
    "status=$?",
    'if [ "$status" -eq 130 ]; then',
    '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    "fi",
    'exit "$status"',
  } do array[#array + 1] = l end
  local collect = header(o, exp.name .. "-collect", {
    "--job-name=nnlab-" .. exp.name .. "-collect",
    "--output=" .. dir .. "/" .. exp.name .. "-collect-%j.log",
    "--cpus-per-task=1",
  })
  collect[#collect + 1] = q(nnlab) .. " collect " .. q(griddir)
  local array_path = dir .. "/" .. exp.name .. ".sbatch"
  local collect_path = dir .. "/" .. exp.name .. "-collect.sbatch"
  tsv.write_atomic(array_path, table.concat(array, "\n") .. "\n")
  tsv.write_atomic(collect_path, table.concat(collect, "\n") .. "\n")
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
