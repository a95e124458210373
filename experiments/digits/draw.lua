--- Draws the digits of experiments/digits/ from pen strokes, as a person
-- would in a paint program with a round brush: each digit is a few strokes
-- (lines and arcs in a unit box, y down), rendered with a slant, a size, an
-- offset and a pen width of its own onto a 28x28 grid, and written in seed
-- 000's text format (28 rows of 28 characters, 1 for ink, 0 for paper) as
-- D_K.txt, D the true digit. Not MNIST's images: strokes and pen only.
--   lua5.4 experiments/digits/draw.lua [FOLDER]   (default: this script's folder)
local pi = math.pi

local function arc(cx, cy, rx, ry, t0, t1)
  local pts, n = {}, 24
  for k = 0, n do
    local t = t0 + (t1 - t0) * k / n
    pts[#pts + 1] = {cx + rx * math.cos(t), cy + ry * math.sin(t)}
  end
  return pts
end

local function line(...)
  local pts = {}
  for _, p in ipairs{...} do pts[#pts + 1] = p end
  return pts
end

-- Two styles of each digit: lists of strokes (polylines of {x, y} points).
local STYLES = {
  [0] = {{arc(0.5, 0.5, 0.32, 0.46, 0, 2 * pi)},
         {arc(0.5, 0.5, 0.24, 0.47, -0.5 * pi, 1.6 * pi)}},
  [1] = {{line({0.5, 0.04}, {0.5, 0.96})},
         {line({0.28, 0.24}, {0.56, 0.04}, {0.56, 0.96}), line({0.34, 0.96}, {0.78, 0.96})}},
  [2] = {{arc(0.5, 0.3, 0.3, 0.25, pi, 2.25 * pi), line({0.71, 0.48}, {0.16, 0.95}, {0.88, 0.95})},
         {arc(0.48, 0.32, 0.3, 0.28, 1.05 * pi, 2.15 * pi), line({0.75, 0.45}, {0.2, 0.93}),
          arc(0.5, 0.8, 0.32, 0.13, pi, 1.9 * pi)}},
  [3] = {{arc(0.48, 0.28, 0.3, 0.23, 1.1 * pi, 2.5 * pi), arc(0.48, 0.73, 0.34, 0.23, -0.5 * pi, 0.9 * pi)},
         {line({0.18, 0.05}, {0.8, 0.05}, {0.42, 0.42}), arc(0.45, 0.68, 0.36, 0.27, -0.6 * pi, 0.85 * pi)}},
  [4] = {{line({0.64, 0.04}, {0.1, 0.68}, {0.92, 0.68}), line({0.64, 0.04}, {0.64, 0.96})},
         {line({0.25, 0.04}, {0.16, 0.58}, {0.86, 0.58}), line({0.7, 0.26}, {0.68, 0.96})}},
  [5] = {{line({0.82, 0.05}, {0.26, 0.05}, {0.22, 0.44}), arc(0.47, 0.67, 0.34, 0.28, -0.78 * pi, 0.8 * pi)},
         {line({0.24, 0.06}, {0.2, 0.46}), line({0.24, 0.06}, {0.84, 0.06}),
          arc(0.5, 0.68, 0.32, 0.27, -0.85 * pi, 0.75 * pi)}},
  [6] = {{arc(0.66, 0.62, 0.44, 0.58, -0.55 * pi, -1.0 * pi), arc(0.5, 0.7, 0.28, 0.24, pi, 3 * pi)},
         {line({0.7, 0.04}, {0.3, 0.5}), arc(0.5, 0.7, 0.27, 0.25, 0.95 * pi, 2.95 * pi)}},
  [7] = {{line({0.12, 0.06}, {0.88, 0.06}, {0.38, 0.96})},
         {line({0.14, 0.12}, {0.86, 0.06}, {0.46, 0.96}), line({0.36, 0.52}, {0.82, 0.5})}},
  [8] = {{arc(0.5, 0.27, 0.24, 0.22, 0, 2 * pi), arc(0.5, 0.72, 0.3, 0.24, 0, 2 * pi)},
         {arc(0.5, 0.28, 0.22, 0.23, 0.5 * pi, 2.5 * pi), arc(0.5, 0.73, 0.28, 0.22, -0.5 * pi, 1.5 * pi)}},
  [9] = {{arc(0.5, 0.3, 0.3, 0.25, 0, 2 * pi), line({0.8, 0.3}, {0.74, 0.96})},
         {arc(0.48, 0.3, 0.28, 0.25, 0, 2 * pi), arc(0.42, 0.3, 0.36, 0.64, 0, 0.62 * pi)}},
}

-- Each drawing's hand: slant (shear of x by height), size of the 20-pixel box
-- MNIST's digits fill, centre offset, pen radius in pixels.
local HANDS = {
  {slant = 0.12, size = 19, dx = 0, dy = 0, pen = 1.45},
  {slant = -0.05, size = 20, dx = 0.6, dy = -0.4, pen = 1.25},
}

local function dist_to_segment(px, py, ax, ay, bx, by)
  local vx, vy = bx - ax, by - ay
  local len2 = vx * vx + vy * vy
  local t = len2 > 0 and math.max(0, math.min(1, ((px - ax) * vx + (py - ay) * vy) / len2)) or 0
  local qx, qy = ax + t * vx - px, ay + t * vy - py
  return math.sqrt(qx * qx + qy * qy)
end

--- 28 strings of 28 characters: the strokes drawn by the hand.
local function render(strokes, hand)
  local segs = {}
  for _, stroke in ipairs(strokes) do
    local prev
    for _, p in ipairs(stroke) do
      local h = hand.size
      local x = 14 + hand.dx + (p[1] - 0.5) * h * 0.8 + hand.slant * (0.5 - p[2]) * h
      local y = 14 + hand.dy + (p[2] - 0.5) * h
      if prev then segs[#segs + 1] = {prev[1], prev[2], x, y} end
      prev = {x, y}
    end
  end
  local rows = {}
  for r = 0, 27 do
    local cells = {}
    for c = 0, 27 do
      local d = math.huge
      for _, s in ipairs(segs) do d = math.min(d, dist_to_segment(c + 0.5, r + 0.5, s[1], s[2], s[3], s[4])) end
      cells[#cells + 1] = d <= hand.pen and "1" or "0"
    end
    rows[#rows + 1] = table.concat(cells)
  end
  return rows
end

local here = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "."
local dir = arg and arg[1] or here
for digit = 0, 9 do
  for k, strokes in ipairs(STYLES[digit]) do
    local path = ("%s/%d_%d.txt"):format(dir, digit, k)
    local f = assert(io.open(path, "w"))
    f:write(table.concat(render(strokes, HANDS[k]), "\n"), "\n")
    f:close()
  end
end
