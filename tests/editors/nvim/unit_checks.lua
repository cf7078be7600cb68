-- Driven by tests/editors/test_nvim.py: the plugin's pieces inside a real Neovim, no server.
-- Each case stores what it observed under results.cases[name]; pytest asserts the values.
local params = vim.json.decode(table.concat(vim.fn.readfile(arg[1]), "\n"))
local results = { cases = {}, messages = {} }

vim.notify = function(msg, level)
  table.insert(results.messages, { msg = tostring(msg), level = level })
end

local function case(name, fn)
  local ok, value = xpcall(fn, debug.traceback)
  results.cases[name] = ok and { value = value } or { error = value }
end

local status = require("magray.status")
local output = require("magray.output")
local config = require("magray.config")

local function text_of_win(win)
  local buf = vim.api.nvim_win_get_buf(win)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

local function title(win)
  local t = vim.api.nvim_win_get_config(win).title
  return t and vim.trim(t[1][1]) or nil
end

case("format", function()
  return {
    basic = status.format({ costUsd = 0.0004, model = "gpt-4o-mini", monthUsd = 3.1, budgetUsd = 20 }),
    cached = status.format({ cached = true, costUsd = 0, model = "gpt-4o", monthUsd = 3.1, budgetUsd = vim.NIL }),
    no_month = status.format({ costUsd = 0.0123, model = "claude-3-5-haiku-latest" }),
    fallback = status.format({
      costUsd = 0.25,
      model = "claude-3-5-haiku-latest",
      fallbackFrom = "openai.default",
      localOnly = true,
    }),
    tiny = status.format({ costUsd = 0.00004, model = "m" }),
    free = status.format({ costUsd = 0, model = "llama3.1", monthUsd = 0, budgetUsd = 12.5 }),
    unknown = status.format({ costUsd = vim.NIL, model = "custom" }),
    none = status.format(nil),
  }
end)

case("component", function()
  status.reset()
  local fired = 0
  vim.api.nvim_create_autocmd("User", {
    pattern = "MagrayStatus",
    callback = function()
      fired = fired + 1
    end,
  })
  local seen = { empty = status.component() }
  status.on_status(nil, { costUsd = 0.0004, model = "gpt-4o-mini", monthUsd = 3.1, budgetUsd = 20 }, {})
  seen.after_status = require("magray").status()
  status.on_progress({ token = "t1", value = { kind = "begin", title = "magray: explain" } })
  status.on_progress({ token = "other", value = { kind = "begin", title = "Indexing" } })
  seen.busy = status.component()
  status.on_progress({ token = "t1", value = { kind = "report", message = "8 chunks" } })
  seen.report = status.component()
  status.on_progress({ token = "t1", value = { kind = "end" } })
  seen.done = status.component()
  seen.fired = fired -- status, begin, end; the foreign progress and the report do not count
  return seen
end)

case("custom_format", function()
  local magray = require("magray")
  magray.setup({
    cmd = { params.nvim, "--version" }, -- any executable: setup only checks that it exists
    filetypes = { "magray-test-none" },
    status = {
      format = function(last)
        return last and ("[%s]"):format(last.model) or "idle"
      end,
    },
  })
  local value = magray.status()
  status.format_fn = nil
  return value
end)

case("config_errors", function()
  local errors = {}
  for name, opts in pairs({
    style = { output = { style = "tab" } },
    cmd = { cmd = {} },
    keymaps = { keymaps = "yes" },
    filetypes = { filetypes = "python" },
    not_a_table = "nope",
  }) do
    local ok, err = pcall(config.resolve, opts)
    errors[name] = ok and "accepted" or err
  end
  return errors
end)

case("config_keymaps", function()
  return {
    all = config.resolve({ keymaps = true }).keymaps,
    some = config.resolve({ keymaps = { explain = "<leader>x", usage = false } }).keymaps,
    none = config.resolve({}).keymaps,
    cmd = config.resolve({ cmd = { "python3", "-m", "magray_lsp" } }).cmd,
  }
end)

case("missing_executable", function()
  results.messages = {}
  local started = require("magray").setup({ cmd = { "magray-lsp-not-installed", "serve" } })
  return { started = started, messages = vim.deepcopy(results.messages) }
end)

case("command_without_server", function()
  results.messages = {}
  vim.cmd("MagrayExplain")
  return vim.deepcopy(results.messages)
end)

case("ranges", function()
  local actions = require("magray.actions")
  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "x = 'héllo'", "y = 'wörld'", "z = 1" })
  local function visual(keys, encoding)
    vim.api.nvim_win_set_cursor(0, { 1, 5 })
    vim.api.nvim_feedkeys(keys, "x!", false)
    local mode = vim.api.nvim_get_mode().mode
    local range = actions.target_range(buf, encoding, {})
    return { mode = mode, range = range, after = vim.api.nvim_get_mode().mode }
  end
  local seen = {
    -- from the h of héllo to the r of wörld (ö is 2 bytes, 1 UTF-16 unit)
    utf16 = visual("vjll", "utf-16"),
    utf8 = visual("vjll", "utf-8"),
    linewise = visual("Vj", "utf-16"),
  }
  vim.api.nvim_win_set_cursor(0, { 2, 8 }) -- byte 8, the r after ö: UTF-16 column 7
  seen.cursor = actions.target_range(buf, "utf-16", {})
  seen.lines = actions.target_range(buf, "utf-16", { range = 2, line1 = 2, line2 = 3 })
  return seen
end)

case("stream", function()
  output.opts = vim.tbl_extend("force", output.opts, { style = "float", stream = { "explain" } })
  local source = vim.api.nvim_get_current_win()
  local seen = {}
  output.on_stream(nil, { id = "a", action = "explain", delta = "# Title\n\nfirst ", done = false })
  local win = output.state.win
  seen.floating = vim.api.nvim_win_get_config(win).relative == "editor"
  seen.streaming_title = title(win)
  output.on_stream(nil, { id = "a", action = "explain", delta = "line\nsecond", done = false })
  seen.partial = text_of_win(win)
  seen.height_grew = vim.api.nvim_win_get_height(win) >= 4
  output.on_stream(nil, { id = "a", action = "explain", delta = " half", done = false })
  output.on_stream(nil, { id = "a", action = "explain", delta = "", done = true })
  seen.text = text_of_win(win)
  seen.done_title = title(win)
  seen.cursor_stayed = vim.api.nvim_get_current_win() == source
  seen.buffer_modifiable = vim.bo[output.state.buf].modifiable
  seen.filetype = vim.bo[output.state.buf].filetype
  -- a document action streams too, but its result is an edit: the window ignores it
  output.on_stream(nil, { id = "b", action = "document", delta = '"""Doc."""', done = false })
  output.on_stream(nil, { id = "b", action = "document", delta = "", done = true })
  seen.after_document = output.text()
  -- the next explanation starts afresh
  output.on_stream(nil, { id = "c", action = "explain", delta = "Second answer", done = false })
  seen.next = output.text()
  return seen
end)

case("show_document", function()
  local dir = vim.fs.joinpath(vim.env.XDG_CACHE_HOME, "magray", "shown")
  vim.fn.mkdir(dir, "p")
  local path = vim.fs.joinpath(dir, "explain-Registry.add.md")
  vim.fn.writefile({ "### `Registry.add`", "", "Stores a value.", "", "---", "*$0.0001 · gpt-4o-mini*" }, path)
  local uri = vim.uri_from_fname(path)
  local other = vim.fs.joinpath(params.tmp, "notes.md")
  vim.fn.writefile({ "not ours" }, other)
  local wins_before = #vim.api.nvim_tabpage_list_wins(0)
  local ours = output.on_show_document(nil, { uri = uri, takeFocus = false }, { client_id = 1 }, {})
  local seen = {
    ours = ours,
    text = output.text(),
    title = title(output.state.win),
    wins_same = #vim.api.nvim_tabpage_list_wins(0) == wins_before,
    is_ours = output.is_magray_document(uri),
    not_ours = output.is_magray_document(vim.uri_from_fname(other)),
    not_file = output.is_magray_document("https://example.com/magray/shown/x.md"),
  }
  return seen
end)

case("toggle", function()
  local seen = { open = output.state.win ~= nil }
  output.toggle()
  seen.closed = output.state.win == nil
  output.toggle()
  seen.reopened = output.state.win ~= nil and vim.api.nvim_win_is_valid(output.state.win)
  seen.text = output.text()
  output.close()
  return seen
end)

case("split", function()
  output.opts = vim.tbl_extend("force", output.opts, { style = "vsplit", width = 40, stream = { "explain", "refactor" } })
  local source = vim.api.nvim_get_current_win()
  output.on_stream(nil, { id = "d", action = "refactor", delta = "def f():\n    pass", done = false })
  local win = output.state.win
  local seen = {
    floating = vim.api.nvim_win_get_config(win).relative ~= "",
    width = vim.api.nvim_win_get_width(win),
    cursor_stayed = vim.api.nvim_get_current_win() == source,
    text = output.text(),
  }
  output.close()
  return seen
end)

case("health", function()
  require("magray").setup({ cmd = { "magray-lsp-not-installed", "serve" } })
  vim.cmd("checkhealth magray")
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
end)

vim.fn.writefile({ vim.json.encode(results) }, params.out)
vim.cmd("qa!")
