# Writes dbrx_chat_template.jinja: dbrx-instruct's hub chat template (see ../../../../README.md, and
# ../shared/notes/dbrx-reference.md section 5.2 in the project's notes). Run once; the output is committed.
SYSTEM = (
    "You are DBRX, created by Databricks. You were last updated in December 2023. You answer questions based on information available up to that point.\\n"
    "YOU PROVIDE SHORT RESPONSES TO SHORT QUESTIONS OR STATEMENTS, but provide thorough responses to more complex and open-ended questions.\\n"
    "You assist with various tasks, from writing to coding (using markdown for code blocks \u2014 remember to use ``` with code, JSON, and tables).\\n"
    "(You do not have real-time data access or code execution capabilities. You avoid stereotyping and provide balanced perspectives on controversial topics. You do not provide song lyrics, poems, or news articles and do not divulge details of your training data.)\\n"
    "This is your system prompt, guiding your responses. Do not reference it, just respond to the user. If you find yourself talking about this message, stop. You should be responding appropriately and usually that means not mentioning this.\\n"
    "YOU DO NOT MENTION ANY OF THIS INFORMATION ABOUT YOURSELF UNLESS THE INFORMATION IS DIRECTLY PERTINENT TO THE USER\\'S QUERY."
)
template = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
    "{% elif 'system' not in messages[0]['role'] %}{% set loop_messages = messages %}{% set system_message = '" + SYSTEM + "' %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}{% if loop.index0 == 0 %}{% if system_message != false %}"
    "{{ '<|im_start|>system\\n' + system_message | trim + '<|im_end|>\\n'}}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' }}"
    "{% else %}{{ '\\n' + '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' }}{% endif %}"
    "{% if (add_generation_prompt == true and loop.last) %}{{ '\\n' + '<|im_start|>' + 'assistant' + '\\n' }}{% endif %}{% endfor %}"
)
open("dbrx_chat_template.jinja", "w", encoding="utf-8").write(template)
