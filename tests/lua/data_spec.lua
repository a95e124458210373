local helper = require("helper")
local nn = helper.nn

describe("MNIST", function()
  local mnist = nn.mnist()

  it("has the vendored sizes and labels 0..9", function()
    assert.are.equal(60000, mnist.train:size())
    assert.are.equal(10000, mnist.test:size())
    assert.are.equal(784, mnist.train:features())
    local counts = {}
    for _, y in ipairs(mnist.test:labels():totable()) do counts[y] = (counts[y] or 0) + 1 end
    assert.are.equal(980, counts[0])   -- the test set's known class sizes
    assert.are.equal(1135, counts[1])
    assert.are.equal(1009, counts[9])
  end)

  it("scales pixels per batch: 1/255 by default, raw with scale = 1", function()
    local raw = nn.mnist{scale = 1}
    local a, b = mnist.test:images(1, 1), raw.test:images(1, 1)
    local mx = 0
    for k = 1, 784 do mx = math.max(mx, b:get(1, k)) end
    assert.are.equal(255, mx)
    assert.is_near(b:get(1, 300) / 255, a:get(1, 300), 1e-7)
  end)

  it("splits by counts or fractions after a seeded shuffle", function()
    nn.seed(5)
    local a, b, c = mnist.train:split{30000, 15000, 10000}
    assert.are.same({30000, 15000, 10000}, {a:size(), b:size(), c:size()})
    local x, y, z = mnist.train:split{0.6, 0.2, 0.2}
    assert.are.same({36000, 12000, 12000}, {x:size(), y:size(), z:size()})
    nn.seed(5)
    local a2 = mnist.train:split{30000}
    assert.are.same(a:labels():totable(), a2:labels():totable())
  end)

  it("refuses bad split and subset sizes", function()
    assert.has_error(function() mnist.train:split{50000, 20000} end,
      "bad argument #1 to 'split' (the parts add up to 70000 items but the dataset has 60000)")
    assert.has_error(function() mnist.train:split{0, 10} end,
      "bad argument #1 to 'split' (part 1 must be an integer >= 1, got 0)")
    assert.has_error(function() mnist.train:split{100.5} end,
      "bad argument #1 to 'split' (part 1 must be an integer >= 1, got 100.5)")
    assert.has_error(function() mnist.train:split{0.7, 0.5} end,
      "bad argument #1 to 'split' (the fractions add up to 1.2, more than 1)")
    assert.has_error(function() mnist.test:subset(0, 5) end,
      "bad argument #1 to 'subset' (first must be an integer in 1..10000, got 0)")
    assert.has_error(function() mnist.test:subset(9999, 5) end,
      "bad argument #2 to 'subset' (count must be an integer in 1..2, got 5)")
  end)

  it("iterates in batches, the last one smaller", function()
    local sizes, seen = {}, 0
    for batch in mnist.test:subset(1, 250):batches{size = 100} do
      sizes[#sizes + 1] = #batch.x
      seen = seen + #batch.y
      assert.are.equal(784, batch.x:shape()[2])
    end
    assert.are.same({100, 100, 50}, sizes)
    assert.are.equal(250, seen)
  end)

  it("names a missing data folder", function()
    assert.error_matches(function() nn.mnist{dir = "/nonexistent"} end,
      "mnist: /nonexistent: no file train%-images%-idx3%-ubyte or train%-images%-idx3%-ubyte.gz")
  end)
end)

describe("other IDX data sets", function()
  it("load from a folder with MNIST's file names and train", function()
    local dir = helper.tmpdir()
    -- 3 classes told apart by which third of a 4x6 image is lit
    local function label(i) return i % 3 end
    local function pixel(i, k) return ((k - 1) // 8 == i % 3) and 200 or (i * k) % 20 end
    helper.write_idx_pair(dir, "train", 300, 4, 6, pixel, label)
    helper.write_idx_pair(dir, "t10k", 60, 4, 6, pixel, label)
    local d = nn.mnist{dir = dir, classes = 3}
    assert.are.equal(24, d.train:features())
    nn.seed(1)
    local m = nn.Sequential{nn.Linear(24, 3)}
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.5}, data = d.train,
             batch = 30, epochs = 20, verbose = false}
    assert.are.equal(1, nn.evaluate(m, d.test).accuracy)
    os.execute("rm -rf " .. dir)
  end)

  it("refuse damaged files and labels out of range", function()
    local dir = helper.tmpdir()
    helper.write_idx_pair(dir, "train", 10, 2, 2, function() return 1 end, function(i) return i end)
    helper.write_idx_pair(dir, "t10k", 10, 2, 2, function() return 1 end, function() return 0 end)
    assert.error_matches(function() nn.mnist{dir = dir} end,
      "train%-labels%-idx1%-ubyte: label 10 %(item 10%) is outside 0..9")
    local img = helper.read(dir .. "/t10k-images-idx3-ubyte")
    helper.write(dir .. "/train-labels-idx1-ubyte", helper.read(dir .. "/t10k-labels-idx1-ubyte"))
    helper.write(dir .. "/train-images-idx3-ubyte", img:sub(1, #img - 3))
    assert.error_matches(function() nn.mnist{dir = dir} end,
      "train%-images%-idx3%-ubyte: truncated: the header promises 40 bytes of data, the file holds 37")
    helper.write(dir .. "/train-images-idx3-ubyte", "GIF89a")
    assert.error_matches(function() nn.mnist{dir = dir} end, "not an IDX file")
    os.execute("rm -rf " .. dir)
  end)
end)
