//! Chinese wording of the domain's validation messages, for pages. The JSON API keeps the
//! English messages (developers read them); people using the pages read these.

/// The Chinese form of a message, or the message itself when it has none.
pub fn translate(msg: &str) -> String {
    const EXACT: &[(&str, &str)] = &[
        ("is required", "必填"),
        ("at least one information item is required", "至少需要一个信息项"),
        ("a text item needs a length", "字符型信息项必须填写长度"),
        ("length must be between 1 and 1000000", "长度必须在 1 到 1000000 之间"),
        ("conditional sharing needs the condition text", "有条件共享必须填写共享条件"),
        ("not-shared data needs its legal basis", "不予共享必须填写法律、法规或政策依据"),
        ("choose at least one sharing method", "请至少选择一种共享方式"),
        ("conditional opening needs the condition text", "有条件开放必须填写开放条件"),
        ("data that is not shared between departments cannot be opened to the public", "不予共享的数据不能向社会开放"),
        ("core (核心) data cannot be opened to the public", "核心数据不能向社会开放"),
        ("publish date must be YYYY-MM-DD", "日期格式应为 YYYY-MM-DD"),
        ("class must be 1 (基础), 2 (主题) or 3 (部门)", "类必须是 1（基础）、2（主题）或 3（部门）"),
        ("item must be 2 digits", "项必须是 2 位数字"),
        ("category must be 3 digits", "目必须是 3 位数字"),
        ("sub-category must be at most 6 digits", "细目最多 6 位数字"),
        ("resource code must contain '/'", "资源代码应为“分类代码/顺序号”，例如 3 01 001/000123"),
        ("resource code must start with class, item and category", "资源代码应以类、项、目开头，例如 3 01 001/000123"),
        ("sequence number after '/' must be 1 to 9 digits", "“/”后的顺序号必须是 1 到 9 位数字"),
        ("must be a whole number", "必须是正整数"),
        ("say what the officer must fix", "请填写退回意见"),
        ("give the reason for delisting", "请填写下架原因"),
        ("missing or wrong CSRF token", "页面已过期，请刷新后重试"),
        ("sign in first", "请先登录"),
        ("your role may not do this", "当前角色无权进行此操作"),
        ("wrong username or password", "用户名或密码错误"),
        ("this username is taken", "该用户名已被注册"),
    ];
    if let Some((_, zh)) = EXACT.iter().find(|(en, _)| *en == msg) {
        return (*zh).to_owned();
    }
    if let Some(n) = msg.strip_prefix("must be at most ").and_then(|r| r.strip_suffix(" characters")) {
        return format!("不能超过 {n} 个字符");
    }
    if msg.contains(" is not one of ") || msg.ends_with(" is not a known value") {
        return "不是有效的取值".into();
    }
    if msg.starts_with("item name ") && msg.ends_with(" is used twice") {
        return "信息项名称重复".into();
    }
    if let Some(rest) = msg.strip_prefix("resource code ").and_then(|r| r.strip_suffix(" is already taken")) {
        return format!("资源代码 {rest} 已被占用");
    }
    if let Some(rest) = msg.strip_prefix("this organization already has an entry named ") {
        return format!("本单位已有名为 {rest} 的资源目录");
    }
    if let Some(rest) = msg.strip_prefix("too many failed sign-ins, try again in ") {
        return format!("登录失败次数过多，请 {} 后再试", rest.replace(" seconds", " 秒"));
    }
    if msg.starts_with("cannot ") && msg.contains(" an entry that is ") {
        return "该资源目录当前状态不允许此操作".into();
    }
    msg.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_with_numbers_are_translated() {
        assert_eq!(super::translate("must be at most 200 characters"), "不能超过 200 个字符");
        assert_eq!(super::translate("\"x\" is not one of a, b"), "不是有效的取值");
        assert_eq!(super::translate("unknown thing"), "unknown thing");
    }
}
