--- Readers for single digit images: 28x28 text files of numbers (seed 000's
-- hand-drawn digits: 0/1 per pixel, with or without spaces), PGM files
-- (P2 text or P5 binary) and PNG files (any colour type, decoded by libpng in
-- nnlab.core). Each returns 784 pixel values in 0..255, MNIST's convention
-- (ink bright on a dark background), or nil and a message.
local images = {}

local SIDE = 28

local function from_values(path, values, maxval)
  if #values ~= SIDE * SIDE then
    return nil, ("%s: %d pixel values, expected %d (28x28)"):format(path, #values, SIDE * SIDE)
  end
  local px = {}
  for i, v in ipairs(values) do
    if v ~= v or v < 0 or v > maxval then
      return nil, ("%s: pixel %d is %s, outside 0..%s"):format(path, i, tostring(v), tostring(maxval))
    end
    px[i] = v * 255 / maxval
  end
  return px
end

--- A text file: 28 rows of 28 numbers, or 28 rows of 28 digit characters.
function images.read_text(path, text)
  local values, rows = {}, 0
  for line in text:gmatch("[^\r\n]+") do
    if line:match("%S") then
      rows = rows + 1
      if line:match("^%s*[0-9]+%s*$") and #line:match("[0-9]+") == SIDE then
        for ch in line:match("[0-9]+"):gmatch(".") do values[#values + 1] = tonumber(ch) end
      else
        for item in line:gmatch("%S+") do
          local v = tonumber(item)
          if not v then return nil, ("%s: line %d: '%s' is not a number"):format(path, rows, item) end
          values[#values + 1] = v
        end
      end
    end
  end
  local maxval = 1
  for _, v in ipairs(values) do
    if v > 1 then maxval = 255 end
  end
  if maxval == 1 then
    for _, v in ipairs(values) do
      if v > 1 then maxval = 9 end
    end
  end
  return from_values(path, values, maxval)
end

--- A PGM file, P2 or P5, 28x28.
function images.read_pgm(path, data)
  local pos, fields = 3, {}
  local magic = data:sub(1, 2)
  while #fields < 3 do
    local s, e = data:find("^%s+", pos)
    if s then pos = e + 1 end
    if data:sub(pos, pos) == "#" then
      pos = (data:find("\n", pos) or #data) + 1
    else
      local num = data:match("^%d+", pos)
      if not num then return nil, path .. ": damaged PGM header" end
      fields[#fields + 1] = tonumber(num)
      pos = pos + #num
    end
  end
  local w, h, maxval = math.tointeger(fields[1]), math.tointeger(fields[2]), math.tointeger(fields[3])
  if not (w and h and maxval) then return nil, path .. ": damaged PGM header (sizes out of range)" end
  if w ~= SIDE or h ~= SIDE then
    return nil, ("%s: image is %dx%d, expected 28x28"):format(path, w, h)
  end
  if maxval < 1 or maxval > 65535 then return nil, ("%s: bad PGM maximum %d"):format(path, maxval) end
  local values = {}
  if magic == "P5" then
    pos = pos + 1
    local bytes = maxval > 255 and 2 or 1
    if #data - pos + 1 < SIDE * SIDE * bytes then return nil, path .. ": truncated PGM data" end
    for i = 0, SIDE * SIDE - 1 do
      local at = pos + i * bytes
      values[#values + 1] = bytes == 1 and data:byte(at) or data:byte(at) * 256 + data:byte(at + 1)
    end
  else
    for item in data:sub(pos):gmatch("%S+") do values[#values + 1] = tonumber(item) or -1 end
  end
  return from_values(path, values, maxval)
end

--- A PNG file, 28x28, as grey levels (transparency over white).
function images.read_png(path, data)
  local w, h, px = require("nnlab.core").decode_png(data, path)
  if not w then return nil, h end
  if w ~= SIDE or h ~= SIDE then
    return nil, ("%s: image is %dx%d, expected 28x28"):format(path, w, h)
  end
  return from_values(path, {px:byte(1, -1)}, 255)
end

--- Reads a digit image of any kind; inverts a light background.
function images.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("a")
  f:close()
  local px, msg
  local magic = data:sub(1, 2)
  if magic == "P5" or magic == "P2" then
    px, msg = images.read_pgm(path, data)
  elseif data:sub(1, 8) == "\137PNG\r\n\26\n" then
    px, msg = images.read_png(path, data)
  elseif magic:match("^P%d") then
    return nil, ("%s: a %s file; only grey PGM (P2, P5), PNG and text digits are read"):format(path, magic)
  else
    px, msg = images.read_text(path, data)
  end
  if not px then return nil, msg end
  local sum = 0
  for _, v in ipairs(px) do sum = sum + v end
  local inverted = sum / #px > 127
  if inverted then
    for i, v in ipairs(px) do px[i] = 255 - v end
  end
  return px, inverted
end

return images
