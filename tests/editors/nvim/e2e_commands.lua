-- Driven by tests/editors/test_nvim.py: the user commands, keymaps, settings and :checkhealth
-- against the real magray-lsp. params: { cmd = argv, file = path, out = results.json }
local e2e = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/e2e.lua")
local params, results, wait, buffer_text = e2e.params, e2e.results, e2e.wait, e2e.buffer_text

local function message_seen(text)
  return e2e.messages_with(text) > 0
end

local function main()
  local magray = require("magray")
  local output = require("magray.output")
  local streams_done = {}
  vim.api.nvim_create_autocmd("User", {
    pattern = "MagrayStreamDone",
    callback = function(ev)
      table.insert(streams_done, ev.data.text)
    end,
  })

  -- editor settings override .magray.toml per key (its budget is 20)
  results.setup = magray.setup({ cmd = params.cmd, keymaps = true, settings = { budget = { monthly_usd = 50 } } })
  local buf = e2e.open(params.file)
  results.keymaps = {}
  for _, lhs in ipairs({ "<leader>me", "<leader>md", "<leader>mr", "<leader>mu", "<leader>mo" }) do
    local map = vim.fn.maparg(lhs, "n", false, true)
    results.keymaps[lhs] = { desc = map.desc, buffer = map.buffer }
  end

  -- :MagrayRefactor {instruction}: workspace/executeCommand → workspace/applyEdit
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  vim.cmd("MagrayRefactor use casefold instead of lower")
  wait("refactored buffer", function()
    return buffer_text(buf):find("casefold", 1, true) ~= nil
  end)
  wait("status after refactor", function()
    return (magray.last_status() or {}).action == "refactor"
  end)
  results.refactor = { buffer = buffer_text(buf), status = magray.status() }

  -- :MagrayExplain twice on the same code: the second answer comes from the cache
  vim.api.nvim_win_set_cursor(0, { 6, 8 })
  vim.cmd("MagrayExplain")
  wait("explanation shown", function()
    return output.text():find("### `parse_header`", 1, true) ~= nil
  end)
  local first = magray.last_status().requestId
  vim.cmd("MagrayExplain")
  wait("cached explain status", function()
    return magray.last_status().requestId ~= first
  end)
  results.cached = { status = magray.status(), payload = magray.last_status() }
  local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = 5, character = 8 },
  }, e2e.TIMEOUT)
  for _, res in pairs(hover or {}) do
    results.hover = res.result and res.result.contents and res.result.contents.value
  end

  -- :MagrayUsage: the report opens in the output window
  vim.cmd("MagrayUsage")
  wait("usage report", function()
    return output.text():find("# magray usage", 1, true) ~= nil
  end)
  results.usage = {
    text = output.text(),
    title = vim.api.nvim_win_get_config(output.state.win).title,
  }

  -- :MagrayCancel stops a slow answer half way (the server closes the provider stream)
  vim.cmd("MagrayOutput") -- hide the usage report
  results.output_hidden = output.state.win == nil
  vim.api.nvim_win_set_cursor(0, { 4, 0 })
  vim.cmd("1,6MagrayExplain")
  wait("slow stream started", function()
    return output.text():find("Slowly", 1, true) ~= nil
  end)
  local streams_before = #streams_done
  local status_before = (magray.last_status() or {}).requestId
  vim.cmd("MagrayCancel")
  wait("stream ended after cancel", function()
    return #streams_done > streams_before
  end)
  results.cancelled = {
    streamed = streams_done[#streams_done],
    inflight = vim.tbl_count(require("magray.actions").inflight),
    -- a cancelled request reports no cost
    new_status = (magray.last_status() or {}).requestId ~= status_before,
    running = require("magray.status").state.running,
    cancel_message = message_seen("cancelled 1 request"),
  }

  -- :MagrayClearCache: the server's answer arrives through vim.notify
  vim.cmd("MagrayClearCache")
  wait("cache cleared message", function()
    return message_seen("cleared")
  end)

  -- :checkhealth magray with a running client
  vim.cmd("checkhealth magray")
  results.health = buffer_text(vim.api.nvim_get_current_buf())
end

e2e.run(main)
