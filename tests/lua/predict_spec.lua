-- The input scale in model files, nnlab predict's top classes, and PNG digits.
local helper = require("helper")
local nn = helper.nn
local core = require("nnlab.core")

--- A PNG file (8 bits a channel, no interlace) of w x h pixels: colour type
-- 0 (grey) or 6 (RGBA); pixel(x, y) returns the channel values. Its zlib
-- stream uses stored blocks, so no compressor is needed.
local function png(w, h, colour, pixel)
  local raw = {}
  for y = 0, h - 1 do
    raw[#raw + 1] = "\0"
    for x = 0, w - 1 do raw[#raw + 1] = string.char(pixel(x, y)) end
  end
  local data = table.concat(raw)
  local z, pos = {"\120\1"}, 1
  repeat
    local part = data:sub(pos, pos + 65534)
    pos = pos + #part
    z[#z + 1] = string.pack("<BI2I2", pos > #data and 1 or 0, #part, ~#part & 0xffff) .. part
  until pos > #data
  local a, b = 1, 0
  for i = 1, #data do
    a = (a + data:byte(i)) % 65521
    b = (b + a) % 65521
  end
  z[#z + 1] = string.pack(">I4", (b << 16) | a)
  local function chunk(kind, body)
    return string.pack(">I4", #body) .. kind .. body .. string.pack(">I4", core.crc32(kind .. body))
  end
  return "\137PNG\r\n\26\n" .. chunk("IHDR", string.pack(">I4I4BBBBB", w, h, 8, colour, 0, 0, 0))
    .. chunk("IDAT", table.concat(z)) .. chunk("IEND", "")
end

--- Test images first..first+count-1 as raw 0..255 pixel lists, and their labels.
local function test_digits(mnist, first, count)
  local x = mnist.test:images(first, count):totable()
  local labels = mnist.test:subset(first, count):labels():totable()
  for _, row in ipairs(x) do
    for i, v in ipairs(row) do row[i] = math.floor(v * 255 + 0.5) end
  end
  return x, labels
end

local function pgm(px)
  local bytes = {}
  for i, v in ipairs(px) do bytes[i] = string.char(v) end
  return "P5\n28 28\n255\n" .. table.concat(bytes)
end

--- The fields of nnlab predict's line for a file: class, probability pairs.
local function ranked(line)
  local fields = {}
  for f in line:gmatch("[^\t]+") do fields[#fields + 1] = f end
  local pairs_ = {}
  for k = 2, #fields - 1, 2 do
    pairs_[#pairs_ + 1] = {class = tonumber(fields[k]), p = tonumber(fields[k + 1])}
  end
  return fields[1], pairs_
end

describe("input scale in model files", function()
  it("is recorded by nn.train, saved and loaded (version 3)", function()
    local dir = helper.tmpdir()
    nn.seed(1)
    local raw = nn.mnist{scale = 1}
    local m = nn.Sequential{nn.Linear(784, 10)}
    assert.are.equal(0, m:input_scale())
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 1e-4}, data = raw.train:subset(1, 500),
             batch = 100, epochs = 1, verbose = false}
    assert.are.equal(1, m:input_scale())
    m:save(dir .. "/raw.nnl")
    local bytes = helper.read(dir .. "/raw.nnl")
    assert.are.equal(3, string.unpack("<I4", bytes, 9))
    assert.are.equal(1, string.unpack("<d", bytes, #bytes - 7))
    assert.are.equal(1, nn.load(dir .. "/raw.nnl"):input_scale())
    m:input_scale(0.25)
    m:save(dir .. "/quarter.nnl")
    assert.are.equal(0.25, nn.load(dir .. "/quarter.nnl"):input_scale())
    assert.error_matches(function() m:input_scale(-1) end, "input scale must be a finite number >= 0")
    assert.error_matches(function() m:input_scale(0 / 0) end, "input scale must be a finite number >= 0")
    -- a negative scale in a file is damage, even with a right CRC
    local bad = bytes:sub(1, #bytes - 8) .. string.pack("<d", -1)
    local payload = bad:sub(25)
    bad = bad:sub(1, 12) .. string.pack("<I4", core.crc32(payload)) .. bad:sub(17)
    helper.write(dir .. "/bad.nnl", bad)
    assert.error_matches(function() nn.load(dir .. "/bad.nnl") end, "bad%.nnl: damaged model file %(bad input scale%)")
    -- so is a scale past float range, which turns every pixel into inf
    local function with_crc(b) return b:sub(1, 12) .. string.pack("<I4", core.crc32(b:sub(25))) .. b:sub(17) end
    helper.write(dir .. "/huge.nnl", with_crc(bytes:sub(1, #bytes - 8) .. string.pack("<d", 1e300)))
    assert.error_matches(function() nn.load(dir .. "/huge.nnl") end,
      "huge%.nnl: damaged model file %(bad input scale%)")
    -- and a parameter that is not finite (a diverged model, which m:save refuses to write): it would
    -- predict NaN for every image
    m:parameters():set(3, 12345.5)
    m:save(dir .. "/marked.nnl")
    local marked = helper.read(dir .. "/marked.nnl")
    local at = assert(marked:find(string.pack("<f", 12345.5), 1, true))
    local nan = string.pack("<I4", 0x7fc00000)
    helper.write(dir .. "/nan.nnl", with_crc(marked:sub(1, at - 1) .. nan .. marked:sub(at + 4)))
    assert.error_matches(function() nn.load(dir .. "/nan.nnl") end,
      "nan%.nnl: parameter 3 %(layer 1, Linear%(784%->10%)%) is not finite %(%-?nan%): the model diverged or the file "
      .. "is damaged")
    os.execute("rm -rf " .. dir)
  end)

  it("is 0 (unknown) in version 1 files, which still load", function()
    local path = helper.root .. "/tests/fuzz/corpus/model/mlp.nnl"
    assert.are.equal(1, string.unpack("<I4", helper.read(path), 9))
    local m = nn.load(path)
    assert.are.equal(0, m:input_scale())
    assert.is_true(m:num_params() > 0)
  end)
end)

describe("nnlab predict", function()
  local dir, mnist, x, labels
  setup(function()
    dir = helper.tmpdir()
    nn.seed(1)
    mnist = nn.mnist()
    -- seed 001's setup: raw 0..255 pixels, so 1/255 would be the wrong scale
    local raw = nn.mnist{scale = 1}
    local m = nn.Sequential{nn.Linear(784, 10)}
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 1e-4},
             data = raw.train:subset(1, 10000), batch = 100, epochs = 2, verbose = false}
    m:save(dir .. "/raw.nnl")
    local scaled = nn.Sequential{nn.Linear(784, 10)}
    nn.train{model = scaled, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.5},
             data = mnist.train:subset(1, 10000), batch = 100, epochs = 2, verbose = false}
    scaled:save(dir .. "/scaled.nnl")
    x, labels = test_digits(mnist, 1, 20)
    for i, px in ipairs(x) do helper.write(("%s/d%02d.pgm"):format(dir, i), pgm(px)) end
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  local function files()
    local list = {}
    for i = 1, #x do list[i] = ("%s/d%02d.pgm"):format(dir, i) end
    return table.concat(list, " ")
  end

  local function right_of(out)
    local right, n = 0, 0
    for line in out:gmatch("[^\n]+") do
      local path, top = ranked(line)
      local i = tonumber(path:match("d(%d+)%.pgm$"))
      n = n + 1
      if top[1].class == labels[i] then right = right + 1 end
    end
    return right, n
  end

  it("prints the top three classes with their probabilities, most probable first", function()
    local code, out, err = helper.nnlab(("predict %s/scaled.nnl %s"):format(dir, files()))
    assert.are.equal(0, code, err)
    local right, n = right_of(out)
    assert.are.equal(20, n)
    assert.is_true(right >= 17, right .. " of 20")
    for line in out:gmatch("[^\n]+") do
      local _, top = ranked(line)
      assert.are.equal(3, #top)
      assert.is_true(top[1].p >= top[2].p and top[2].p >= top[3].p)
      assert.is_true(top[1].p + top[2].p + top[3].p <= 1.0001)
      assert.are_not.equal(top[1].class, top[2].class)
    end
    code, out = helper.nnlab(("predict %s/scaled.nnl %s/d01.pgm --top 10"):format(dir, dir))
    assert.are.equal(0, code)
    local _, all = ranked(out:match("[^\n]+"))
    assert.are.equal(10, #all)
    local sum = 0
    for _, c in ipairs(all) do sum = sum + c.p end
    assert.is_true(math.abs(sum - 1) < 1e-3, tostring(sum))
    code, _, err = helper.nnlab(("predict %s/scaled.nnl %s/d01.pgm --top 0"):format(dir, dir))
    assert.are.equal(2, code)
    assert.matches("%-%-top: expected a positive integer", err)
  end)

  it("uses the model file's input scale: a raw-pixel model needs no --scale", function()
    local code, out, err = helper.nnlab(("predict %s/raw.nnl %s"):format(dir, files()))
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    local right = right_of(out)
    assert.is_true(right >= 16, right .. " of 20 without --scale")
    -- the same as the model's own predictions on the raw test set
    local model = nn.load(dir .. "/raw.nnl")
    local want = model:predict(nn.mnist{scale = 1}.test:images(1, 20))
    local i = 0
    for line in out:gmatch("[^\n]+") do
      i = i + 1
      local _, top = ranked(line)
      assert.are.equal(want[i] - 1, top[1].class)
    end
    -- the wrong scale, given by hand, is used as given: the inputs shrink 255-fold
    code, out = helper.nnlab(("predict %s/raw.nnl %s/d01.pgm --scale 1/255 --top 1"):format(dir, dir))
    assert.are.equal(0, code)
    local _, given = ranked(out:match("[^\n]+"))
    local _, own = ranked(select(2, helper.nnlab(("predict %s/raw.nnl %s/d01.pgm --top 1"):format(dir, dir))))
    assert.is_true(given[1].p < own[1].p)
  end)

  it("says when a model file does not record its scale, and uses 1/255", function()
    local m = nn.load(dir .. "/scaled.nnl")
    m:input_scale(0) -- as a model trained by a loop of one's own, not nn.train
    m:save(dir .. "/unknown.nnl")
    local code, out, err = helper.nnlab(("predict %s/unknown.nnl %s/d01.pgm"):format(dir, dir))
    assert.are.equal(0, code)
    local _, known = helper.nnlab(("predict %s/scaled.nnl %s/d01.pgm"):format(dir, dir))
    assert.are.equal(known, out)
    assert.matches("does not record its input scale; using 1/255", err)
    assert.matches("d01%.pgm\t%d\t", out)
  end)

  it("reads PNG digits (grey, and RGBA with transparency over white) as the PGM of the same pixels", function()
    local px = x[1]
    helper.write(dir .. "/grey.png", png(28, 28, 0, function(c, r) return px[r * 28 + c + 1] end))
    -- dark ink on a transparent background: paper shows through, and is inverted
    helper.write(dir .. "/rgba.png", png(28, 28, 6, function(c, r)
      local v = px[r * 28 + c + 1]
      return 0, 0, 0, v
    end))
    local code, out, err = helper.nnlab(("predict %s/scaled.nnl %s/d01.pgm %s/grey.png %s/rgba.png --top 10")
      :format(dir, dir, dir, dir))
    assert.are.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    local _, from_pgm = ranked(lines[1])
    local _, from_png = ranked(lines[2])
    local name, from_rgba = ranked(lines[3])
    assert.are.same(from_pgm, from_png)
    assert.matches("rgba%.png", name)
    assert.matches("%(inverted: light background%)", lines[3])
    assert.are.equal(from_pgm[1].class, from_rgba[1].class)
    assert.is_true(math.abs(from_pgm[1].p - from_rgba[1].p) < 0.01)
    assert.are.equal(labels[1], from_png[1].class)
  end)

  it("refuses a scale past float range and says when the model's outputs are not finite", function()
    local code, _, err = helper.nnlab(("predict %s/scaled.nnl %s/d01.pgm --scale 1e300"):format(dir, dir))
    assert.are.equal(2, code)
    assert.matches("%-%-scale: expected a positive number within float range or 1/255", err)
    code, _, err = helper.nnlab(("predict %s/scaled.nnl %s/d01.pgm --scale 3e38"):format(dir, dir))
    assert.are.equal(2, code)
    assert.matches("d01%.pgm: output %d+ of the model is [-a-z]+ %(at scale 3e%+38%): no probabilities", err)
  end)

  it("rejects a damaged PNG and one of another size with a message", function()
    local good = png(28, 28, 0, function() return 0 end)
    helper.write(dir .. "/cut.png", good:sub(1, 60))
    helper.write(dir .. "/small.png", png(4, 3, 0, function() return 9 end))
    helper.write(dir .. "/flipped.png", good:sub(1, 40) .. string.char(good:byte(41) ~ 0xff) .. good:sub(42))
    local code, _, err = helper.nnlab(("predict %s/scaled.nnl %s/cut.png %s/small.png %s/flipped.png")
      :format(dir, dir, dir, dir))
    assert.are.equal(2, code)
    assert.matches("cut%.png: [^\n]*PNG", err)
    assert.matches("small%.png: image is 4x3, expected 28x28", err)
    assert.matches("flipped%.png: [^\n]*PNG", err)
    local w, h, pixels = core.decode_png(png(4, 3, 0, function(c, r) return 10 * r + c end))
    assert.are.same({4, 3}, {w, h})
    assert.are.equal(string.char(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23), pixels)
    assert.are.same({nil, "x: not a readable PNG (no PNG signature and header)"},
      {core.decode_png("\137PNG\r\n\26\r", "x")})
    -- a header claiming 100000 x 100000 pixels is refused before anything is allocated
    local huge = good:sub(1, 16) .. string.pack(">I4I4", 100000, 100000) .. good:sub(25)
    assert.are.same({nil, "h: PNG of 100000 x 100000 pixels, not a digit image"}, {core.decode_png(huge, "h")})
  end)
end)
