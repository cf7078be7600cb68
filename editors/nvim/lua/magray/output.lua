--- The output window: streamed markdown as `magray/stream` deltas arrive, then the final
--- explanation (or usage report) the server shows with `window/showDocument`.
---
--- One scratch buffer is reused; the window is a float (or a split) that never takes the cursor
--- unless `output.focus` is set, so reading an explanation does not interrupt editing.
local M = {}

M.opts = {
  style = "float",
  width = 0.45,
  height = 0.6,
  border = "rounded",
  stream = { "explain" },
  documents = true,
  focus = false,
}

---@class magray.OutputState
---@field buf integer|nil
---@field win integer|nil
---@field id string|nil      stream id being shown
---@field title string
---@field done boolean
M.state = { buf = nil, win = nil, id = nil, title = "magray", done = true }

local function valid_buf(buf)
  return buf ~= nil and vim.api.nvim_buf_is_valid(buf)
end

local function valid_win(win)
  return win ~= nil and vim.api.nvim_win_is_valid(win)
end

local function ensure_buf()
  if valid_buf(M.state.buf) then
    return M.state.buf
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "markdown"
  vim.bo[buf].modifiable = false
  pcall(vim.api.nvim_buf_set_name, buf, "magray://output")
  pcall(vim.treesitter.start, buf, "markdown") -- highlights when the parser is there
  for _, lhs in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", lhs, M.close, { buffer = buf, nowait = true, desc = "magray: close output" })
  end
  M.state.buf = buf
  return buf
end

local function size(total, value)
  if value < 1 then
    return math.max(1, math.floor(total * value))
  end
  return math.min(total, math.floor(value))
end

--- Lines the buffer takes in a window `width` columns wide with 'wrap' on.
local function wrapped_height(buf, width)
  local rows = 0
  for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    rows = rows + math.max(1, math.ceil(vim.fn.strdisplaywidth(line) / math.max(width, 1)))
  end
  return rows
end

local function float_config(buf)
  local columns, lines = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
  local width = size(columns - 4, M.opts.width)
  local max_height = size(lines - 2, M.opts.height)
  local height = math.max(1, math.min(max_height, wrapped_height(buf, width)))
  return {
    relative = "editor",
    anchor = "NE",
    row = 1,
    col = columns - 1,
    width = width,
    height = height,
    border = M.opts.border,
    style = "minimal",
    title = " " .. M.state.title .. " ",
    title_pos = "center",
  }
end

local function set_window_options(win)
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].conceallevel = 2
  vim.wo[win].concealcursor = "n"
  vim.wo[win].spell = false
end

--- Show the window (open it if needed); returns its id.
function M.open()
  local buf = ensure_buf()
  if valid_win(M.state.win) then
    if vim.api.nvim_win_get_config(M.state.win).relative ~= "" then
      vim.api.nvim_win_set_config(M.state.win, float_config(buf))
    end
    return M.state.win
  end
  local win
  if M.opts.style == "float" then
    win = vim.api.nvim_open_win(buf, M.opts.focus, float_config(buf))
  else
    local current = vim.api.nvim_get_current_win()
    vim.cmd((M.opts.style == "vsplit" and "botright vertical " or "botright ") .. "sbuffer " .. buf)
    win = vim.api.nvim_get_current_win()
    if M.opts.style == "vsplit" then
      vim.api.nvim_win_set_width(win, size(vim.o.columns, M.opts.width))
    else
      vim.api.nvim_win_set_height(win, size(vim.o.lines, M.opts.height))
    end
    if not M.opts.focus and valid_win(current) then
      vim.api.nvim_set_current_win(current)
    end
  end
  set_window_options(win)
  M.state.win = win
  return win
end

function M.close()
  if valid_win(M.state.win) then
    pcall(vim.api.nvim_win_close, M.state.win, true)
  end
  M.state.win = nil
end

--- Open the last output again, or close it when it is showing.
function M.toggle()
  if valid_win(M.state.win) then
    M.close()
  elseif valid_buf(M.state.buf) then
    M.open()
  else
    vim.notify("magray: nothing to show yet", vim.log.levels.INFO)
  end
end

local function with_modifiable(buf, fn)
  vim.bo[buf].modifiable = true
  local ok, err = pcall(fn)
  vim.bo[buf].modifiable = false
  if not ok then
    error(err)
  end
end

--- Keep the newest text in view unless the user is reading inside the window.
local function follow()
  local win = M.state.win
  if not valid_win(win) or win == vim.api.nvim_get_current_win() then
    return
  end
  if vim.api.nvim_win_get_config(win).relative ~= "" then
    vim.api.nvim_win_set_config(win, float_config(M.state.buf))
  end
  local last = vim.api.nvim_buf_line_count(M.state.buf)
  pcall(vim.api.nvim_win_set_cursor, win, { last, 0 })
end

local function set_title(title)
  M.state.title = title
  if valid_win(M.state.win) and vim.api.nvim_win_get_config(M.state.win).relative ~= "" then
    vim.api.nvim_win_set_config(M.state.win, { title = " " .. title .. " ", title_pos = "center" })
  end
end

--- Replace the whole content with `markdown` under `title`, and show it.
---@param markdown string
---@param title string|nil
function M.show(markdown, title)
  local buf = ensure_buf()
  with_modifiable(buf, function()
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(markdown, "\n", { plain = true }))
  end)
  M.state.done = true
  M.state.title = title or "magray"
  M.open()
  set_title(M.state.title)
  if valid_win(M.state.win) and M.state.win ~= vim.api.nvim_get_current_win() then
    pcall(vim.api.nvim_win_set_cursor, M.state.win, { 1, 0 })
  end
end

--- Append `delta` at the end of the buffer without rewriting what is there.
---@param delta string
function M.append(delta)
  if delta == "" then
    return
  end
  local buf = ensure_buf()
  with_modifiable(buf, function()
    local row = vim.api.nvim_buf_line_count(buf) - 1
    local col = #vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
    vim.api.nvim_buf_set_text(buf, row, col, row, col, vim.split(delta, "\n", { plain = true }))
  end)
  follow()
end

--- Handler for the `magray/stream` notification: {id, action, uri, delta, done}.
function M.on_stream(_, params, _)
  if type(params) ~= "table" or type(params.id) ~= "string" then
    return
  end
  local action = type(params.action) == "string" and params.action or "output"
  if params.id ~= M.state.id then
    if params.done or not vim.tbl_contains(M.opts.stream, action) then
      return -- not a stream this window shows (or an empty one that already ended)
    end
    M.state.id = params.id
    M.state.done = false
    local buf = ensure_buf()
    with_modifiable(buf, function()
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, {})
    end)
    M.state.title = "magray · " .. action .. " " .. "…"
    M.open()
    set_title(M.state.title)
  end
  if type(params.delta) == "string" then
    M.append(params.delta)
  end
  if params.done and not M.state.done then
    M.state.done = true
    set_title("magray · " .. action)
    vim.api.nvim_exec_autocmds("User", {
      pattern = "MagrayStreamDone",
      modeline = false,
      data = { id = params.id, action = action, uri = params.uri, text = M.text() },
    })
  end
end

--- Whether a `window/showDocument` URI is one of the server's explanation/usage documents.
---@param uri string
function M.is_magray_document(uri)
  return type(uri) == "string" and uri:match("^file://.*/magray/shown/[^/]+%.md$") ~= nil
end

local function title_for(path)
  local name = vim.fn.fnamemodify(path, ":t:r")
  if name == "explain-usage" then
    return "magray · usage"
  end
  return "magray · " .. (name:gsub("^explain%-", "explain · "))
end

--- `window/showDocument` handler: the server's markdown documents open in the output window;
--- any other document goes to Neovim's own handler.
function M.on_show_document(err, params, ctx, config)
  if M.opts.documents and type(params) == "table" and not params.external and M.is_magray_document(params.uri) then
    local path = vim.uri_to_fname(params.uri)
    local ok, lines = pcall(vim.fn.readfile, path)
    if ok then
      M.show(table.concat(lines, "\n"), title_for(path))
      if params.takeFocus and valid_win(M.state.win) then
        vim.api.nvim_set_current_win(M.state.win)
      end
      return { success = true }
    end
  end
  return vim.lsp.handlers["window/showDocument"](err, params, ctx, config)
end

--- The buffer's text (for tests and for yanking the last answer).
---@return string
function M.text()
  if not valid_buf(M.state.buf) then
    return ""
  end
  return table.concat(vim.api.nvim_buf_get_lines(M.state.buf, 0, -1, false), "\n")
end

return M
