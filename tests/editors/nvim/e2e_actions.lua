-- Driven by tests/editors/test_nvim.py: real Neovim + editors/nvim + the real magray-lsp.
--   nvim --headless --clean -u NONE --cmd "set rtp^=editors/nvim" -l e2e_actions.lua params.json
-- params: { cmd = argv, file = path, out = results.json }
-- Everything observed goes into results.json; pytest asserts on it.
local e2e = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/e2e.lua")
local params, results, wait, buffer_text = e2e.params, e2e.results, e2e.wait, e2e.buffer_text
results.status_events = 0

local function main()
  local magray = require("magray")
  local output = require("magray.output")
  results.setup = magray.setup({ cmd = params.cmd })

  vim.api.nvim_create_autocmd("User", {
    pattern = "MagrayStatus",
    callback = function()
      results.status_events = results.status_events + 1
    end,
  })
  -- the window's content when a stream ends, before the final document replaces it
  vim.api.nvim_create_autocmd("User", {
    pattern = "MagrayStreamDone",
    callback = function(ev)
      local win = output.state.win
      results.stream_done = {
        action = ev.data.action,
        text = ev.data.text,
        window_text = output.text(),
        window_open = win ~= nil and vim.api.nvim_win_is_valid(win),
        floating = win ~= nil and vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_config(win).relative ~= "",
      }
    end,
  })

  local buf, client = e2e.open(params.file)
  results.client = { root_dir = client.root_dir, offset_encoding = client.offset_encoding }

  -- 1. document through the code-action menu, filtered to our kind and applied
  vim.api.nvim_win_set_cursor(0, { 5, 4 }) -- inside parse_header's body
  local offered = {}
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      table.insert(offered, { title = action.title, kind = action.kind })
      return action.kind == "refactor.rewrite.magray.document"
    end,
  })
  wait("docstring in buffer", function()
    return buffer_text(buf):find("Split a header line", 1, true) ~= nil
  end)
  wait("status after document", function()
    local last = magray.last_status()
    return last ~= nil and last.action == "document"
  end)
  results.offered = offered
  results.document = {
    buffer = buffer_text(buf),
    status = magray.status(),
    payload = magray.last_status(),
    modified = vim.bo[buf].modified,
  }

  -- 2. explain: streamed into the output window live, then the server's final document
  local partial = {}
  vim.api.nvim_win_set_cursor(0, { 6, 8 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.kind == "refactor.magray.explain"
    end,
  })
  wait("explain stream done", function()
    local text = output.text()
    if results.stream_done == nil and text ~= "" and partial[#partial] ~= text then
      table.insert(partial, text)
    end
    return results.stream_done ~= nil
  end)
  wait("explanation document shown", function()
    return output.text():find("### `parse_header`", 1, true) ~= nil
  end)
  wait("status after explain", function()
    local last = magray.last_status()
    return last ~= nil and last.action == "explain"
  end)
  local win = output.state.win
  results.explain = {
    partial = partial,
    final_text = output.text(),
    title = win and vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_config(win).title or nil,
    window_open = win ~= nil and vim.api.nvim_win_is_valid(win),
    -- the explanation never takes the cursor, and opened no other window
    current_buf_is_source = vim.api.nvim_get_current_buf() == buf,
    windows = #vim.api.nvim_tabpage_list_wins(0),
    status = magray.status(),
    payload = magray.last_status(),
    source_unchanged = buffer_text(buf) == results.document.buffer,
  }
end

e2e.run(main)
