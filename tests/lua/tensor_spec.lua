local nn = require("helper").nn

describe("tensors", function()
  it("are built from nested tables and read back", function()
    local t = nn.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({2, 3}, t:shape())
    assert.are.equal(2, #t)
    assert.are.equal(6, t:get(2, 3))
    t:set(1, 2, -7.5)
    assert.are.same({{1, -7.5, 3}, {4, 5, 6}}, t:totable())
    assert.are.same({3, 3}, t:argmax())
  end)

  it("zeros, reshape and clone", function()
    local z = nn.zeros{2, 3}
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, z:totable())
    local r = nn.tensor{{1, 2}, {3, 4}}:reshape{4}
    assert.are.same({1, 2, 3, 4}, r:totable())
    local c = r:clone()
    c:set(1, 9)
    assert.are.equal(1, r:get(1))
  end)

  it("refuses ragged tables, bad shapes and bad indices", function()
    assert.has_error(function() nn.tensor{{1, 2}, {3}} end,
      "bad argument #1 to 'tensor' (ragged table: a row at depth 2 has 1 entries, expected 2)")
    assert.has_error(function() nn.tensor{{1, "x"}} end,
      "bad argument #1 to 'tensor' (element 2 at depth 2 is a string, expected a number)")
    assert.has_error(function() nn.zeros{2, -1} end)
    assert.has_error(function() nn.zeros{2, 1.5} end,
      "bad argument #1 to 'zeros' (dimension 2 must be an integer in 0..2147483647, got 1.5)")
    local t = nn.zeros{2, 2}
    assert.has_error(function() t:get(3, 1) end, "bad argument #1 to 'get' (index 3 is outside 1..2)")
    assert.has_error(function() t:get(1, 3) end, "bad argument #2 to 'get' (index 3 is outside 1..2)")
    assert.has_error(function() t:reshape{3} end,
      "bad argument #1 to 'reshape' (a shape of 3 elements for a tensor of 4)")
  end)
end)
